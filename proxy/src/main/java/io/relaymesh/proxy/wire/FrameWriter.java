package io.relaymesh.proxy.wire;

import static io.relaymesh.proxy.wire.WireSpec.*;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Encodes frames by appending them to a {@link Buffer}. Stateless; used by the session (through
 * {@link MessageBuilder}), by tests' scripted peers and by benchmarks. Arguments that cannot be
 * encoded are caller bugs and throw {@link IllegalArgumentException}.
 */
public final class FrameWriter {
  private FrameWriter() {}

  public static Buffer header(Buffer out, int type, int flags, int streamId, int length) {
    if (streamId < 0) {
      throw new IllegalArgumentException("stream id " + streamId);
    }
    return out.appendUnsignedByte((short) type).appendUnsignedByte((short) flags)
        .appendInt(streamId).appendInt(length);
  }

  public static Buffer settings(Buffer out, Settings s) {
    int n = (s.initialWindow() >= 0 ? 1 : 0) + (s.maxFrameSize() >= 0 ? 1 : 0)
        + (s.maxConcurrentStreams() >= 0 ? 1 : 0) + (s.maxOpenSize() >= 0 ? 1 : 0);
    header(out, TYPE_SETTINGS, 0, 0, n * SETTINGS_ENTRY_SIZE);
    entry(out, SETTING_INITIAL_WINDOW, s.initialWindow());
    entry(out, SETTING_MAX_FRAME_SIZE, s.maxFrameSize());
    entry(out, SETTING_MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams());
    entry(out, SETTING_MAX_OPEN_SIZE, s.maxOpenSize());
    return out;
  }

  private static void entry(Buffer out, int id, long value) {
    if (value >= 0) {
      out.appendUnsignedShort(id).appendUnsignedInt(value);
    }
  }

  public static Buffer settingsAck(Buffer out) {
    return header(out, TYPE_SETTINGS, FLAG_ACK, 0, 0);
  }

  /** OPEN: kind u8 | target length u16 | target | metadata. */
  public static Buffer open(Buffer out, int streamId, int kind, String target, Buffer metadata) {
    byte[] t = target.getBytes(StandardCharsets.UTF_8);
    if (t.length > MAX_TARGET_BYTES) {
      throw new IllegalArgumentException("target longer than " + MAX_TARGET_BYTES + " bytes");
    }
    if (kind < 0 || kind > 0xFF) {
      throw new IllegalArgumentException("kind " + kind);
    }
    int metaLen = metadata == null ? 0 : metadata.length();
    header(out, TYPE_OPEN, 0, streamId, OPEN_FIXED_SIZE + t.length + metaLen);
    out.appendUnsignedByte((short) kind).appendUnsignedShort(t.length).appendBytes(t);
    if (metaLen > 0) {
      out.appendBuffer(metadata);
    }
    return out;
  }

  /** Size of the OPEN payload {@link #open} would write. */
  public static int openPayloadSize(String target, Buffer metadata) {
    return OPEN_FIXED_SIZE + target.getBytes(StandardCharsets.UTF_8).length
        + (metadata == null ? 0 : metadata.length());
  }

  public static Buffer openOk(Buffer out, int streamId) {
    return header(out, TYPE_OPEN_OK, 0, streamId, 0);
  }

  public static Buffer openErr(Buffer out, int streamId, long code, String reason) {
    return coded(out, TYPE_OPEN_ERR, streamId, code, reason);
  }

  public static Buffer reset(Buffer out, int streamId, long code, String reason) {
    return coded(out, TYPE_RESET, streamId, code, reason);
  }

  private static Buffer coded(Buffer out, int type, int sid, long code, String reason) {
    byte[] r = reason(reason);
    header(out, type, 0, sid, CODE_SIZE + r.length);
    return out.appendUnsignedInt(code).appendBytes(r);
  }

  /** DATA with the payload copied into {@code out} (see {@link MessageBuilder} for no copy). */
  public static Buffer data(Buffer out, int streamId, Buffer payload) {
    header(out, TYPE_DATA, 0, streamId, payload.length());
    return out.appendBuffer(payload);
  }

  public static Buffer windowUpdate(Buffer out, int streamId, long increment) {
    header(out, TYPE_WINDOW_UPDATE, 0, streamId, WINDOW_UPDATE_SIZE);
    return out.appendUnsignedInt(increment);
  }

  public static Buffer fin(Buffer out, int streamId) {
    return header(out, TYPE_FIN, 0, streamId, 0);
  }

  public static Buffer ping(Buffer out, long opaque) {
    return header(out, TYPE_PING, 0, 0, PING_SIZE).appendLong(opaque);
  }

  public static Buffer pong(Buffer out, long opaque) {
    return header(out, TYPE_PONG, 0, 0, PING_SIZE).appendLong(opaque);
  }

  public static Buffer goAway(Buffer out, int lastStreamId, long code, String reason) {
    if (lastStreamId < 0) { // would be sent as a u32 above 2^31-1, which every reader refuses
      throw new IllegalArgumentException("last stream id " + lastStreamId);
    }
    byte[] r = reason(reason);
    header(out, TYPE_GOAWAY, 0, 0, GOAWAY_FIXED_SIZE + r.length);
    return out.appendInt(lastStreamId).appendUnsignedInt(code).appendBytes(r);
  }

  /** UTF-8 bytes of a reason, cut at a character boundary to {@link WireSpec#MAX_REASON_BYTES}. */
  static byte[] reason(String reason) {
    byte[] r = (reason == null ? "" : reason).getBytes(StandardCharsets.UTF_8);
    if (r.length <= MAX_REASON_BYTES) {
      return r;
    }
    int n = MAX_REASON_BYTES;
    while (n > 0 && (r[n] & 0xC0) == 0x80) {
      n--; // r[n] is a continuation byte: cut before the character it belongs to
    }
    byte[] cut = new byte[n];
    System.arraycopy(r, 0, cut, 0, n);
    return cut;
  }
}
