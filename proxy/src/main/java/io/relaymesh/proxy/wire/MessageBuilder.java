package io.relaymesh.proxy.wire;

import static io.relaymesh.proxy.wire.WireSpec.HEADER_SIZE;
import static io.relaymesh.proxy.wire.WireSpec.TYPE_DATA;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * Assembles one WebSocket message out of whole frames. Control frames and small DATA payloads
 * are copied into a small heap buffer; DATA payloads of {@link #ZERO_COPY_THRESHOLD} bytes or
 * more are added by reference (a Netty composite), so bulk payload bytes are not copied on
 * their way from a stream's producer to the WebSocket. Not thread-safe; one per session.
 */
public final class MessageBuilder {
  /** DATA payloads at least this large are referenced, not copied. */
  public static final int ZERO_COPY_THRESHOLD = 1024;

  private CompositeByteBuf composite;
  private Buffer current = Buffer.buffer(256);
  private int size;

  /** Bytes in the message so far. */
  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /**
   * The buffer control frames are appended to, with {@link FrameWriter}; call
   * {@link #appended()} after writing to it.
   */
  public Buffer control() {
    return current;
  }

  /** Records what was appended to {@link #control()}. */
  public void appended() {
    size = total();
  }

  private int total() {
    return (composite == null ? 0 : composite.readableBytes()) + current.length();
  }

  /** Appends a DATA frame; large payloads are not copied. */
  public void data(int streamId, Buffer payload) {
    int len = payload.length();
    FrameWriter.header(current, TYPE_DATA, 0, streamId, len);
    if (len < ZERO_COPY_THRESHOLD || !(payload instanceof BufferInternal)) {
      current.appendBuffer(payload);
    } else {
      if (composite == null) {
        composite = Unpooled.compositeBuffer(64);
      }
      flushCurrent();
      composite.addComponent(true, ((BufferInternal) payload).getByteBuf());
    }
    size += HEADER_SIZE + len;
  }

  private void flushCurrent() {
    if (current.length() > 0) {
      composite.addComponent(true, ((BufferInternal) current).getByteBuf());
      current = Buffer.buffer(256);
    }
  }

  /** Returns the message and resets this builder. */
  public Buffer build() {
    Buffer out;
    if (composite == null) {
      out = current;
    } else {
      flushCurrent();
      ByteBuf c = composite;
      out = BufferInternal.buffer(c);
      composite = null;
    }
    current = Buffer.buffer(256);
    size = 0;
    return out;
  }
}
