package io.relaymesh.proxy.session;

import io.relaymesh.proxy.wire.ErrorCode;

/**
 * SPI: what a session reports. The relay adapts it to Micrometer
 * ({@code relaymesh_relay_*}, docs/metrics.md); {@link CountingSessionMetrics} counts in memory. Methods
 * are called on the session's event loop and must not block. Every method has a no-op default.
 */
public interface SessionMetrics {

  SessionMetrics NOOP = new SessionMetrics() {};

  /**
   * Something was refused or dropped. Reasons are stable, low-cardinality labels listed in
   * {@code docs/protocol.md} §9 and {@link Refusals}.
   */
  default void refused(String reason) {}

  default void streamOpened(boolean local, int kind) {}

  default void streamClosed(boolean local, int kind, long bytesIn, long bytesOut) {}

  /** Payload bytes of DATA frames received. */
  default void bytesIn(long bytes) {}

  /** Payload bytes of DATA frames sent. */
  default void bytesOut(long bytes) {}

  /**
   * Payload bytes of DATA frames received on a stream of {@code kind} (a {@code WireSpec.KIND_*};
   * {@code -1} when the frame is for a stream no longer known). What sessions call; the default
   * forwards to {@link #bytesIn(long)}. Called per DATA frame: keep it cheap (no map lookups).
   */
  default void bytesIn(int kind, long bytes) {
    bytesIn(bytes);
  }

  /** Payload bytes of DATA frames sent on a stream of {@code kind}; defaults to {@link #bytesOut(long)}. */
  default void bytesOut(int kind, long bytes) {
    bytesOut(bytes);
  }

  /** A round-trip time sample from PING/PONG, in nanoseconds. */
  default void rtt(long nanos) {}

  /** A GOAWAY was sent ({@code sent}) or received. */
  default void goAway(boolean sent, ErrorCode code) {}

  default void sessionClosed() {}
}
