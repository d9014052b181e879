package io.relaymesh.proxy.session.impl;

import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.wire.MessageBuilder;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;

/**
 * The session's send side: a queue of encoded control frames, a round-robin queue of streams
 * that have data and credit, and the loop that packs both into WebSocket messages while the
 * transport's write queue has room.
 *
 * <p>Control frames go first. Streams are served round-robin, at most {@link WireSpec#QUANTUM}
 * bytes per turn, so a small interactive write waits for at most one quantum of each other busy
 * stream, never for a bulk stream's whole window. Flushes are batched: writes in one event-loop
 * task produce one flush in the next.
 *
 * <p>Threading: event-loop only (the session's context).
 */
final class Outbound {
  /**
   * Messages are closed once they reach this size (well under the 256 KiB message limit). It is
   * also the most DATA may fill: one WebSocket frame at the usual maximum frame size (65,536, the
   * default of Vert.x clients and the relay's setting). A longer message leaves as several frames
   * that the receiving Vert.x WebSocket copies back together into a growing heap buffer: a copy
   * of every bulk byte, seen as 20 % of the relay's CPU samples in a bulk profile.
   */
  static final int TARGET_MESSAGE_SIZE = 64 * 1024;
  /** Room kept for the frames that may follow the DATA in a message (a FIN). */
  private static final int MESSAGE_SLACK = 4 * WireSpec.HEADER_SIZE;
  /** Queued control bytes beyond which the peer is considered abusive (it does not read). */
  static final int MAX_CONTROL_BYTES = 4 * 1024 * 1024;

  private final Context context;
  private final TunnelTransport transport;
  private final SessionImpl session;
  private final ArrayDeque<Buffer> control = new ArrayDeque<>();
  private final ArrayDeque<StreamImpl> ready = new ArrayDeque<>();
  private final MessageBuilder message = new MessageBuilder();
  private int controlBytes;
  private boolean scheduled;
  private boolean stopped;
  private int frameLimit;
  private int closeStatus = -1;
  private String closeReason;

  Outbound(Context context, TunnelTransport transport, SessionImpl session, int frameLimit) {
    this.context = context;
    this.transport = transport;
    this.session = session;
    this.frameLimit = frameLimit;
  }

  /** Sets the largest DATA payload (the peer's MAX_FRAME_SIZE, capped by the quantum). */
  void frameLimit(long peerMaxFrameSize) {
    this.frameLimit = (int) Math.min(WireSpec.QUANTUM, peerMaxFrameSize);
  }

  int frameLimit() {
    return frameLimit;
  }

  /** Queues an encoded control frame. Returns false if the control queue overflowed. */
  boolean control(Buffer frame) {
    if (stopped) {
      return true;
    }
    control.add(frame);
    controlBytes += frame.length();
    flushSoon();
    return controlBytes <= MAX_CONTROL_BYTES;
  }

  /** Marks a stream as having something to send. */
  void ready(StreamImpl s) {
    if (!stopped && !s.queued && s.sendable()) {
      s.queued = true;
      ready.add(s);
      flushSoon();
    }
  }

  void flushSoon() {
    if (!scheduled && !stopped) {
      scheduled = true;
      context.runOnContext(v -> {
        scheduled = false;
        flush();
      });
    }
  }

  /** Writes messages until nothing is left or the transport's write queue is full. */
  void flush() {
    while (!stopped && !transport.writeQueueFull()) {
      fill();
      if (message.isEmpty()) {
        if (closeStatus >= 0 && control.isEmpty() && ready.isEmpty()) {
          stopped = true;
          transport.close(closeStatus, closeReason);
        }
        return;
      }
      transport.send(message.build());
    }
  }

  /** Closes the transport once everything queued so far has been sent. */
  void closeWhenFlushed(int status, String reason) {
    if (closeStatus < 0) {
      closeStatus = status;
      closeReason = reason;
    }
    flushSoon();
  }

  private void fill() {
    while (!control.isEmpty()
        && (message.isEmpty() || message.size() + control.peek().length() <= TARGET_MESSAGE_SIZE)) {
      Buffer f = control.poll();
      controlBytes -= f.length();
      message.control().appendBuffer(f);
      message.appended();
    }
    // room for at least one DATA byte: a stream polled here always emits something or its FIN
    while (message.size() + WireSpec.HEADER_SIZE < TARGET_MESSAGE_SIZE - MESSAGE_SLACK
        && !ready.isEmpty()) {
      StreamImpl s = ready.poll();
      s.queued = false;
      s.emit(message, frameLimit, TARGET_MESSAGE_SIZE - MESSAGE_SLACK);
      if (s.sendable()) {
        s.queued = true;
        ready.add(s);
      }
    }
  }

  /** Sends the queued control frames now, ignoring the write queue; then stops sending. */
  void flushControlAndStop() {
    ready.clear();
    while (!control.isEmpty()) {
      fill();
      transport.send(message.build());
    }
    stopped = true;
  }

  void stop() {
    stopped = true;
    control.clear();
    ready.clear();
  }

  int queuedControlBytes() {
    return controlBytes;
  }
}
