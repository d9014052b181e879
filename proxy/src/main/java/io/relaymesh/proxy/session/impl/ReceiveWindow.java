package io.relaymesh.proxy.session.impl;

import java.util.function.LongPredicate;

/**
 * Receive-side flow control of one stream (docs/protocol.md §6): the credit this side granted,
 * the current window, bytes consumed but not yet returned, and RTT-based auto-tuning (after
 * quic-go: half a window consumed in less than one smoothed RTT, i.e. a full window in under two,
 * means the window limits throughput: double it, up to the maximum, if the session budget
 * allows).
 *
 * <p>Invariant, with {@code buffered} the bytes received and not yet read:
 * {@code credit + buffered + unacked == window}.
 *
 * <p>Threading: event-loop only.
 */
final class ReceiveWindow {
  private long window;
  private long credit;
  private long unacked;
  private long epochStart;

  ReceiveWindow(long initialWindow, long now) {
    this.window = initialWindow;
    this.credit = initialWindow;
    this.epochStart = now;
  }

  long window() {
    return window;
  }

  long credit() {
    return credit;
  }

  long unacked() {
    return unacked;
  }

  /** Whether the peer had the credit to send {@code n} bytes. */
  boolean admits(int n) {
    return n <= credit;
  }

  void received(int n) {
    credit -= n;
  }

  /**
   * The reader consumed {@code n} bytes.
   *
   * @param peerFinished the peer sent FIN: it sends no more, no credit is returned
   * @param tryGrow asks the session budget for extra window bytes
   * @return the WINDOW_UPDATE increment to send now, or 0
   */
  long consumed(int n, boolean peerFinished, long now, long smoothedRtt, long maxWindow,
      LongPredicate tryGrow) {
    unacked += n;
    if (peerFinished || unacked < window / 2) {
      return 0;
    }
    long increment = unacked;
    if (smoothedRtt > 0 && now - epochStart < smoothedRtt && window < maxWindow) {
      long grown = Math.min(window * 2, maxWindow);
      long delta = grown - window;
      if (tryGrow.test(delta)) {
        window = grown;
        increment += delta;
      }
    }
    epochStart = now;
    unacked = 0;
    credit += increment;
    return increment;
  }
}
