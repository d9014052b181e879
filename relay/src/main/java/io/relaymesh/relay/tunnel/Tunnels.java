package io.relaymesh.relay.tunnel;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.http.JsonErrors;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What both tunnel endpoints share: the session limits, the relay-wide metrics, the set of live
 * sessions (for drain and close) and the WebSocket upgrade after an authentication check.
 *
 * <p>Threading: thread-safe.
 */
public final class Tunnels {

  private final TunnelConfig config;
  private final CountingSessionMetrics metrics;
  private final Set<Session> live = ConcurrentHashMap.newKeySet();
  private final AtomicLong ids = new AtomicLong();
  private volatile String refusing;

  public Tunnels(TunnelConfig config, CountingSessionMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
  }

  public CountingSessionMetrics metrics() {
    return metrics;
  }

  /** A relay-local id for logs: {@code prefix-<n>}. */
  public String nextId(String prefix) {
    return prefix + "-" + ids.incrementAndGet();
  }

  /** Why new tunnels are refused (draining, closing), or {@code null}. */
  public String refusing() {
    return refusing;
  }

  /** Refuses new tunnels from now on (503 with {@code reason}). */
  public void refuseNew(String reason) {
    refusing = reason;
  }

  /**
   * Upgrades {@code req} (paused during the authentication) to a tunnel session on the request's
   * context {@code ctx}, as the WebSocket server side. Fails when the upgrade or the subprotocol
   * negotiation fails (the WebSocket is closed then).
   */
  public Future<Session> upgrade(Context ctx, HttpServerRequest req,
      TunnelMetrics tunnelMetrics) {
    if (refusing != null) {
      JsonErrors.send(req, 503, "draining", refusing);
      return Future.failedFuture(refusing);
    }
    return req.toWebSocket().compose((ServerWebSocket ws) -> {
      WebSocketTransport transport = WebSocketTransport.negotiated(ws);
      if (transport == null) {
        return Future.failedFuture("client did not negotiate subprotocol relaymesh.v1");
      }
      Session s = Session.create(ctx, transport, Role.SERVER, config, tunnelMetrics);
      live.add(s);
      s.closeFuture().onComplete(x -> live.remove(s));
      return Future.succeededFuture(s);
    });
  }

  /** Metrics of one new tunnel (its own counters, forwarded to the relay-wide ones). */
  public TunnelMetrics newTunnelMetrics() {
    return new TunnelMetrics(metrics);
  }

  /**
   * Adds a session this relay dialed (a peer session to another relay) to the live set, so that
   * drain and close reach it too.
   */
  public void track(Session s) {
    live.add(s);
    s.closeFuture().onComplete(x -> live.remove(s));
  }

  /** Live sessions (agent, client and peer). */
  public int sessionCount() {
    return live.size();
  }

  /**
   * Drain: GOAWAY on every session, wait for them to finish up to {@code timeout}, then close
   * what is left.
   */
  public Future<Void> drain(io.vertx.core.Vertx vertx, Duration timeout, String reason) {
    refuseNew(reason);
    List<Future<Void>> all = new ArrayList<>();
    for (Session s : List.copyOf(live)) {
      all.add(s.goAway(ErrorCode.GOING_AWAY, reason).recover(e -> Future.succeededFuture()));
    }
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(Math.max(1, timeout.toMillis()), t -> done.tryComplete());
    Future.join(all).onComplete(x -> {
      vertx.cancelTimer(timer);
      done.tryComplete();
    });
    return done.future().compose(x -> closeAll(reason));
  }

  /** Closes every session now (GOAWAY, streams reset). */
  public Future<Void> closeAll(String reason) {
    refuseNew(reason);
    List<Future<Void>> all = new ArrayList<>();
    for (Session s : List.copyOf(live)) {
      all.add(s.close(ErrorCode.GOING_AWAY, reason).recover(e -> Future.succeededFuture()));
    }
    return Future.join(all).mapEmpty();
  }
}
