package io.relaymesh.proxy.session.impl;

import io.relaymesh.proxy.wire.MessageBuilder;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Send side of one stream (docs/protocol.md §6): the buffers the application wrote, the credit
 * the peer granted, and DATA emission of at most one quantum per scheduling turn. Buffers are
 * sent by reference; a buffer larger than the turn's budget is sliced, never copied.
 *
 * <p>Threading: event-loop only, except {@link #pendingBytes()} and {@link #inTransit}, read
 * by {@code writeQueueFull()} on other threads (a volatile and an atomic; no lock).
 */
final class SendQueue {
  private final ArrayDeque<Buffer> queue = new ArrayDeque<>();
  private volatile long bytes;
  /** Bytes written from other threads that are still hopping to the stream's context. */
  final AtomicLong inTransit = new AtomicLong();
  private long credit;

  SendQueue(long initialCredit) {
    this.credit = initialCredit;
  }

  /** Queued bytes plus bytes still hopping: what {@code writeQueueFull()} compares. */
  long pendingBytes() {
    return bytes + inTransit.get();
  }

  long queuedBytes() {
    return bytes;
  }

  long credit() {
    return credit;
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** Something can be sent now. */
  boolean canSend() {
    return !queue.isEmpty() && credit > 0;
  }

  void add(Buffer data) {
    queue.add(data);
    bytes += data.length();
  }

  /** Adds the peer's WINDOW_UPDATE; false if the credit went above 2^31-1. */
  boolean grant(long increment) {
    credit += increment;
    return credit <= WireSpec.MAX_WINDOW;
  }

  /**
   * Moves up to {@link WireSpec#QUANTUM} bytes (within the credit) into {@code m} as DATA
   * frames of at most {@code frameLimit} bytes, stopping before {@code m} would grow past
   * {@code maxMessage} bytes (frame headers included).
   *
   * @return the payload bytes emitted
   */
  long emit(int streamId, MessageBuilder m, int frameLimit, int maxMessage) {
    long budget = Math.min(WireSpec.QUANTUM, credit);
    long sent = 0;
    while (budget > 0 && !queue.isEmpty()) {
      int room = maxMessage - m.size() - WireSpec.HEADER_SIZE;
      if (room <= 0) {
        break;
      }
      Buffer b = queue.poll();
      int n = (int) Math.min(Math.min(b.length(), room), Math.min(budget, frameLimit));
      if (n < b.length()) {
        queue.addFirst(b.slice(n, b.length()));
        b = b.slice(0, n);
      }
      m.data(streamId, b);
      budget -= n;
      sent += n;
    }
    credit -= sent;
    bytes -= sent;
    return sent;
  }

  /** Drops everything queued; returns the bytes dropped. */
  long clear() {
    long dropped = bytes;
    queue.clear();
    bytes = 0;
    return dropped;
  }
}
