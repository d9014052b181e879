package io.relaymesh.relay.apps;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Idle keep-alive connections to workspace apps, per (agent tunnel session, or agent held by
 * another relay; port, https, user):
 * the next request to the same app by the same user reuses one instead of opening a stream.
 * Bounded ({@link #maxIdle} per key, dropped after {@link #idleTimeout}); a connection that dies
 * while idle (the app closed it, the tunnel closed) is forgotten at once.
 *
 * <p>The user is part of the key so that every upstream connection belongs to one user in the
 * connection log.
 *
 * <p>Threading: thread-safe (one lock, held only for the map); a connection is taken and given
 * back on its own context.
 */
final class UpstreamPool {

  /**
   * Which connections are interchangeable.
   *
   * @param route the agent tunnel's session, or {@code agent <id>} for connections forwarded to
   *     the relay holding the agent (over whichever peer session was used)
   */
  record Key(Object route, int port, boolean https, String user) {
    static Key of(AppTarget t) {
      return new Key(t.forwarded() ? "agent " + t.agentId() : t.tunnel().session(), t.port(),
          t.https(), t.username());
    }
  }

  private final Vertx vertx;
  private final int maxIdle;
  private final Duration idleTimeout;
  private final Map<Key, ArrayDeque<UpstreamConnection>> idle = new HashMap<>(); // guarded by it

  UpstreamPool(Vertx vertx, int maxIdle, Duration idleTimeout) {
    this.vertx = vertx;
    this.maxIdle = maxIdle;
    this.idleTimeout = idleTimeout;
  }

  /** An open idle connection for {@code key}, or {@code null}. Call on the session's context. */
  UpstreamConnection take(Key key) {
    for (;;) {
      UpstreamConnection c;
      synchronized (idle) {
        ArrayDeque<UpstreamConnection> q = idle.get(key);
        c = q == null ? null : q.pollLast();
        if (q != null && q.isEmpty()) {
          idle.remove(key);
        }
      }
      if (c == null) {
        return null;
      }
      vertx.cancelTimer(c.idleTimer);
      c.onIdleLoss(null);
      if (c.isOpen()) {
        return c;
      }
    }
  }

  /**
   * Keeps {@code c} (its exchange complete, reusable) for the next request; closes it when the
   * key already has {@link #maxIdle} idle connections. Call on the connection's context.
   */
  void giveBack(Key key, UpstreamConnection c) {
    c.listener(null);
    boolean kept;
    synchronized (idle) {
      ArrayDeque<UpstreamConnection> q = idle.computeIfAbsent(key, k -> new ArrayDeque<>());
      kept = q.size() < maxIdle;
      if (kept) {
        q.addLast(c);
      }
    }
    if (!kept) {
      c.close("more than " + maxIdle + " idle connections to the app");
      return;
    }
    c.onIdleLoss(() -> forget(key, c));
    c.idleTimer = vertx.setTimer(Math.max(1, idleTimeout.toMillis()), t -> {
      if (forget(key, c)) {
        c.close("idle for " + idleTimeout.toSeconds() + " s");
      }
    });
  }

  /** Idle connections held now (all keys). */
  int idleCount() {
    synchronized (idle) {
      return idle.values().stream().mapToInt(ArrayDeque::size).sum();
    }
  }

  private boolean forget(Key key, UpstreamConnection c) {
    synchronized (idle) {
      ArrayDeque<UpstreamConnection> q = idle.get(key);
      boolean removed = q != null && q.remove(c);
      if (q != null && q.isEmpty()) {
        idle.remove(key);
      }
      return removed;
    }
  }
}
