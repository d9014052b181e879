package io.relaymesh.proxy.session;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.impl.SessionImpl;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * A multiplexed tunnel session over one {@link TunnelTransport} (one WebSocket): bidirectional
 * {@link Stream}s with per-stream flow control, keepalive/RTT, limits and graceful GOAWAY drain.
 * Protocol: {@code docs/protocol.md}.
 *
 * <p>Threading: a session and all its streams live on one Vert.x context (an event loop); all
 * state is confined to it and there are no locks. {@link #open}, {@link #goAway} and
 * {@link #close} may be called from any thread (they hop to the context); other methods are
 * event-loop only.
 */
public interface Session {

  /**
   * Creates a session and sends its SETTINGS. Must be called on {@code context} (the
   * transport's context).
   */
  static Session create(Context context, TunnelTransport transport, Role role,
      TunnelConfig config, SessionMetrics metrics) {
    return new SessionImpl(context, transport, role, config, metrics);
  }

  Role role();

  /** The context (event loop) this session and its streams live on. */
  Context context();

  /** Completes when the peer's SETTINGS arrived (fails if the session closes first). */
  Future<Void> ready();

  /**
   * Opens a stream; completes on the peer's OPEN_OK with the open stream, or fails with a
   * {@link StreamRefusedException} (OPEN_ERR, GOAWAY, a limit, or the open timeout).
   */
  Future<Stream> open(int kind, String target, Buffer metadata);

  /**
   * Handles streams the peer opens. The handler must {@link Stream#accept()} or
   * {@link Stream#reject} each one before the open timeout. Without a handler, opens are refused
   * with {@code UNSUPPORTED}.
   */
  Session openHandler(Handler<Stream> handler);

  /**
   * Graceful drain: sends GOAWAY (no new streams from the peer), lets open streams finish and
   * then closes. The returned future completes when the session is closed.
   */
  Future<Void> goAway(ErrorCode code, String reason);

  /** Immediate close: GOAWAY with {@code code}, resets every stream, closes the transport. */
  Future<Void> close(ErrorCode code, String reason);

  /** Completes when the session is closed (transport closed). */
  Future<Void> closeFuture();

  /** Sends a PING; completes with the round-trip time in nanoseconds. */
  Future<Long> ping();

  /** Last RTT sample in nanoseconds, or -1 before the first PONG. */
  long lastRttNanos();

  /** Smoothed RTT (RFC 6298, alpha 1/8) in nanoseconds, or -1 before the first PONG. */
  long smoothedRttNanos();

  /** Streams currently open (both directions, incl. opening/pending). */
  int streamCount();

  /** True once a GOAWAY was sent or received. */
  boolean isGoingAway();

  boolean isClosed();

  /** Receive credit currently committed to streams (bounded by max-buffered-per-session). */
  long committedReceiveBytes();
}
