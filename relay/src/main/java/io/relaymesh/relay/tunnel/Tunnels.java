package io.relaymesh.relay.tunnel;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.http.JsonErrors;
import io.relaymesh.relay.metrics.RelayMetrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What both tunnel endpoints share: the session limits, the relay-wide metrics, the set of live
 * sessions (for drain and close) and the WebSocket upgrade after an authentication check.
 *
 * <p>Threading: thread-safe.
 */
public final class Tunnels {
  private static final Logger LOG = LoggerFactory.getLogger(Tunnels.class);

  private final TunnelConfig config;
  private final RelayMetrics metrics;
  private final Map<Session, TunnelMetrics.Type> live = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final String relayName;
  private volatile String refusing;

  public Tunnels(TunnelConfig config, RelayMetrics metrics) {
    this(config, metrics, "");
  }

  /** @param relayName {@code region/replica}, the {@code relay} key of log lines */
  public Tunnels(TunnelConfig config, RelayMetrics metrics, String relayName) {
    this.config = config;
    this.metrics = metrics;
    this.relayName = relayName;
  }

  /** {@code region/replica}, for log lines. */
  public String relayName() {
    return relayName;
  }

  public RelayMetrics metrics() {
    return metrics;
  }

  /** The {@code reason} of a session's close log line, from its close future's outcome. */
  public static String closeReason(io.vertx.core.AsyncResult<?> closed) {
    if (closed.succeeded()) {
      return "closed";
    }
    String m = closed.cause() == null ? null : closed.cause().getMessage();
    return m == null ? "closed" : m;
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
      metrics.handshakeFailure(endpoint(tunnelMetrics.type()), "draining");
      JsonErrors.send(req, 503, "draining", refusing);
      return Future.failedFuture(refusing);
    }
    // the relay's listener accepts unmasked frames (RelayServer): tell a client that offers
    WebSocketTransport.acceptUnmaskedFrames(req);
    return req.toWebSocket().compose((ServerWebSocket ws) -> {
      WebSocketTransport transport = WebSocketTransport.negotiated(ws);
      if (transport != null) {
        WebSocketTransport.limitUnsentBytes(ws); // fairness between streams (head-of-line)
      }
      if (transport == null) {
        metrics.handshakeFailure(endpoint(tunnelMetrics.type()), "bad-request");
        return Future.failedFuture("client did not negotiate subprotocol relaymesh.v1");
      }
      Session s = Session.create(ctx, transport, Role.SERVER, config, tunnelMetrics);
      live.put(s, tunnelMetrics.type());
      s.closeFuture().onComplete(x -> live.remove(s));
      return Future.succeededFuture(s);
    });
  }

  /** The {@code endpoint} label of a tunnel type. */
  static String endpoint(TunnelMetrics.Type type) {
    return switch (type) {
      case AGENT -> "agent";
      case CLIENT -> "client";
      default -> "peer";
    };
  }

  /** Metrics of one new tunnel (its own counters, forwarded to the relay-wide ones). */
  public TunnelMetrics newTunnelMetrics(TunnelMetrics.Type type) {
    return new TunnelMetrics(metrics, type);
  }

  /**
   * Adds a session this relay dialed (a peer session to another relay) to the live set, so that
   * drain and close reach it too.
   */
  public void track(Session s) {
    live.put(s, TunnelMetrics.Type.PEER_OUT);
    s.closeFuture().onComplete(x -> live.remove(s));
  }

  /** Live sessions (agent, client and peer). */
  public int sessionCount() {
    return live.size();
  }

  /** Live sessions of {@code type} (for {@code /debug/consistency}). */
  public int sessionCount(TunnelMetrics.Type type) {
    int n = 0;
    for (Map.Entry<Session, TunnelMetrics.Type> e : live.entrySet()) {
      if (e.getValue() == type) {
        n++;
      }
    }
    return n;
  }

  /** Streams on the live sessions of {@code type} (for {@code /debug/consistency}). */
  public int streamCount(TunnelMetrics.Type type) {
    int n = 0;
    for (Map.Entry<Session, TunnelMetrics.Type> e : live.entrySet()) {
      if (e.getValue() == type) {
        n += e.getKey().streamCount();
      }
    }
    return n;
  }

  /**
   * Drain: GOAWAY on every session, wait for them to finish up to {@code timeout}, then close
   * what is left.
   */
  public Future<Void> drain(io.vertx.core.Vertx vertx, Duration timeout, String reason) {
    refuseNew(reason);
    List<Future<Void>> all = new ArrayList<>();
    for (Session s : List.copyOf(live.keySet())) {
      all.add(s.goAway(ErrorCode.GOING_AWAY, reason).recover(e -> Future.succeededFuture()));
    }
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(Math.max(1, timeout.toMillis()), t -> done.tryComplete());
    Future.join(all).onComplete(x -> {
      vertx.cancelTimer(timer);
      done.tryComplete();
    });
    return done.future().compose(x -> closeAll(vertx, CLOSE_WAIT, reason));
  }

  /**
   * How long {@link #closeAll} waits for sessions to confirm their close. A peer that does not
   * read never acknowledges the WebSocket close (the close frame stays queued): shutting down
   * must not wait for it; the listener's and Vert.x's own close then drop the connection.
   */
  public static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  /**
   * Closes every session now (GOAWAY, streams reset); completes when all confirmed their close
   * or after {@code wait}, whichever comes first.
   */
  public Future<Void> closeAll(io.vertx.core.Vertx vertx, Duration wait, String reason) {
    refuseNew(reason);
    List<Future<Void>> all = new ArrayList<>();
    for (Session s : List.copyOf(live.keySet())) {
      all.add(s.close(ErrorCode.GOING_AWAY, reason).recover(e -> Future.succeededFuture()));
    }
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(Math.max(1, wait.toMillis()), t -> {
      int left = live.size();
      if (left > 0) {
        LOG.warn("{} session(s) did not confirm their close within {} ms; dropping them",
            left, wait.toMillis());
      }
      done.tryComplete();
    });
    Future.join(all).onComplete(x -> {
      vertx.cancelTimer(timer);
      done.tryComplete();
    });
    return done.future();
  }
}
