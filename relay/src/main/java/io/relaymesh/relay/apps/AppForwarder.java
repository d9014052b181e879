package io.relaymesh.relay.apps;

import io.relaymesh.relay.metrics.RelayMetrics;

import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.tunnel.Forwarder;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP data path of workspace apps: forwards one authorized browser request (HTTP/1.1 or
 * HTTP/2) as HTTP/1.1 to a loopback port of an agent over a tunnel stream
 * ({@link UpstreamConnection}: Netty's HTTP client codec, TLS for an {@code s} app), streaming
 * both bodies with back-pressure ({@link Http1Exchange}), reusing idle connections per app and
 * user ({@link UpstreamPool}) and passing WebSocket upgrades through
 * ({@link WebSocketPassThrough}). Hop-by-hop headers are removed here ({@link HopByHop}); the
 * caller has stripped relaymesh credentials and added {@code X-Forwarded-*}. When another relay
 * holds the agent ({@link AppTarget#forwarded()}), the connection is a stream of kind
 * {@code APP} on the peer session to that relay, opened through the same {@link Forwarder} as
 * client streams ({@link #peers}); everything else (HTTP, TLS to the app, pooling) stays here.
 *
 * <p>Threading: thread-safe; {@link #forward} is called on the browser request's context and
 * its future completes there.
 */
public final class AppForwarder {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(AppForwarder.class);

  /** How long the app may take to send its response head. */
  public static final Duration DEFAULT_HEAD_TIMEOUT = Duration.ofSeconds(60);
  /** How long an idle keep-alive connection to an app is kept. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
  /**
   * Idle keep-alive connections kept per app and user. As many as the requests one user may
   * have in flight to one app (an HTTP/2 browser multiplexes dozens over one connection): with
   * fewer, every request above the bound opens a new tunnel stream and app connection, and
   * closes it after one exchange (8 made a 50-connection load open a stream per request).
   */
  public static final int DEFAULT_MAX_IDLE = 64;

  private final Vertx vertx;
  private final Tunnels tunnels;
  private final Reporter reporter;
  private final UpstreamPool pool;
  private final AtomicLong ids = new AtomicLong();
  private volatile Duration headTimeout = DEFAULT_HEAD_TIMEOUT;
  private volatile Forwarder peers;

  public AppForwarder(Vertx vertx, Tunnels tunnels, Reporter reporter) {
    this(vertx, tunnels, reporter, DEFAULT_MAX_IDLE, DEFAULT_IDLE_TIMEOUT);
  }

  AppForwarder(Vertx vertx, Tunnels tunnels, Reporter reporter, int maxIdle,
      Duration idleTimeout) {
    this.vertx = vertx;
    this.tunnels = tunnels;
    this.reporter = reporter;
    this.pool = new UpstreamPool(vertx, maxIdle, idleTimeout);
  }

  /**
   * Forwards requests whose agent is held by another relay through {@code peers}
   * ({@link AppTarget#forwarded()}); without it they fail {@code 502 agent_not_connected}.
   */
  public AppForwarder peers(Forwarder peers) {
    this.peers = peers;
    return this;
  }

  /** Whether requests for agents on other relays are forwarded. */
  public boolean forwards() {
    return peers != null;
  }

  /** Sets how long the app may take to answer (tests). */
  AppForwarder headTimeout(Duration timeout) {
    headTimeout = timeout;
    return this;
  }

  /** Idle upstream connections held now. */
  int idleConnections() {
    return pool.idleCount();
  }

  /**
   * Forwards {@code req} (paused by the caller; this resumes it) to {@code target}, sending
   * {@code uri} (path and query, credentials already stripped) and {@code headers} (already
   * without relaymesh credentials and with X-Forwarded-*; hop-by-hop headers are removed here).
   * Completes when the exchange is over (also when it broke after the response head: the
   * browser's connection or stream is reset then); fails with {@link AppProxyException} when
   * nothing was written to the response yet (the request is resumed then, so the caller only
   * writes its error page).
   */
  public Future<Void> forward(HttpServerRequest req, String uri, MultiMap headers,
      AppTarget target) {
    Context browser = vertx.getOrCreateContext();
    Session session = target.tunnel() == null ? null : target.tunnel().session();
    if (target.forwarded() && (peers == null || tunnels.refusing() != null)) {
      AppPages.resume(req);
      return Future.failedFuture(notConnected(target, peers == null ? "no tunnel"
          : tunnels.refusing()));
    }
    if (!target.forwarded() && (session == null || session.isClosed() || session.isGoingAway()
        || tunnels.refusing() != null)) {
      AppPages.resume(req);
      return Future.failedFuture(notConnected(target, session == null ? "no tunnel"
          : tunnels.refusing() != null ? tunnels.refusing() : "its tunnel is closing"));
    }
    UpstreamRequest plan;
    try {
      plan = UpstreamRequest.of(req, uri, headers);
    } catch (IllegalArgumentException e) {
      AppPages.resume(req);
      return Future.failedFuture(new AppProxyException(400, "bad_request",
          "the request cannot be forwarded to app " + target.app() + ": " + e.getMessage()));
    }
    if (plan.body() == UpstreamRequest.Body.NONE && !plan.webSocket()) {
      // nothing to stream: let the request end now, before any answer (a paused, unended
      // request would hold back the browser connection's next request)
      try {
        if (!req.isEnded()) {
          req.handler(b -> { }); // a body nobody announced is dropped
        }
        req.resume();
      } catch (RuntimeException e) {
        return Future.failedFuture(new AppProxyException(400, "bad_request",
            "the browser request to app " + target.app() + " is gone: " + e.getMessage()));
      }
    }
    Promise<Void> done = Promise.promise();
    attempt(req, plan, target, browser, done, true);
    return done.future().onFailure(e -> AppPages.resume(req));
  }

  private void attempt(HttpServerRequest req, UpstreamRequest plan, AppTarget target,
      Context browser, Promise<Void> done, boolean mayRetry) {
    Promise<Void> attempt = Promise.promise();
    attempt.future().onComplete(ar -> {
      if (ar.failed() && ar.cause() instanceof Http1Exchange.StaleConnection && mayRetry) {
        attempt(req, plan, target, browser, done, false);
      } else if (ar.failed() && ar.cause() instanceof Http1Exchange.StaleConnection) {
        done.fail(new AppProxyException(502, "bad_upstream_response", "the app on port "
            + target.port() + " in workspace " + target.workspace() + " (agent "
            + target.agent() + ") closed the connection without answering: "
            + ar.cause().getMessage()));
      } else {
        done.handle(ar);
      }
    });
    // a forwarded target's connections live on peer sessions: taken here, run on their loop
    Context home = target.forwarded() ? browser : target.tunnel().session().context();
    home.runOnContext(v -> {
      UpstreamConnection idle = mayRetry ? pool.take(UpstreamPool.Key.of(target)) : null;
      if (idle != null) {
        Runnable start = () -> new Http1Exchange(vertx, plan, target, req, browser, idle, true,
            headTimeout, pool, attempt).start();
        if (idle.context == home) {
          start.run();
        } else {
          idle.context.runOnContext(x -> start.run());
        }
        return;
      }
      String id = "ac-" + ids.incrementAndGet();
      long start = System.nanoTime();
      UpstreamConnection.open(target, id, reporter, peers).onComplete(ar -> {
        counted(ar, start, target.forwarded());
        if (ar.failed()) {
          AppProxyException e = openFailure(target, ar.cause());
          browser.runOnContext(x -> attempt.tryFail(e));
          return;
        }
        new Http1Exchange(vertx, plan, target, req, browser, ar.result(), false, headTimeout,
            pool, attempt).start();
      });
    });
  }

  /**
   * Counts an app connection's open ({@code kind="app"}); an opened one moves from the
   * {@code tcp} streams gauge (its kind on the wire) to {@code app} while it lives. A forwarded
   * one also counts in {@code peer_forwarded_streams_total{direction="out"}} and stays in the
   * {@code peer} gauge (the holding relay counts it as {@code app}).
   */
  private void counted(io.vertx.core.AsyncResult<UpstreamConnection> ar, long start,
      boolean forwarded) {
    RelayMetrics m = tunnels.metrics();
    if (m == null) {
      return;
    }
    long nanos = System.nanoTime() - start;
    String result = ar.succeeded() ? "ok" : ar.cause() instanceof StreamResetException r
        ? RelayMetrics.result(r.code()) : "error";
    m.streamOpen(RelayMetrics.APP, result, nanos);
    if (forwarded) {
      // on a peer session (streams gauge: peer); the holding relay counts it as app
      m.peerForwarded(true, result);
      return;
    }
    if (ar.failed()) {
      return;
    }
    m.stream(RelayMetrics.TCP, -1);
    m.stream(RelayMetrics.APP, 1);
    ar.result().stream.closeFuture().onComplete(x -> {
      m.stream(RelayMetrics.APP, -1);
      m.stream(RelayMetrics.TCP, 1);
    });
  }

  AppProxyException openFailure(AppTarget t, Throwable cause) {
    if (t.forwarded()) {
      return forwardFailure(t, cause);
    }
    Session s = t.tunnel().session();
    if (s.isClosed() || s.isGoingAway()) {
      return notConnected(t, cause.getMessage());
    }
    if (cause instanceof StreamResetException r) {
      if (r.code() == ErrorCode.CONNECT_REFUSED) {
        return new AppProxyException(502, "app_unreachable", "nothing is listening on port "
            + t.port() + " in workspace " + t.workspace() + " (agent " + t.agent() + "): "
            + r.reason());
      }
      if (r.code() == ErrorCode.GOING_AWAY) {
        return notConnected(t, r.reason());
      }
      return new AppProxyException(502, "app_unreachable", "agent " + t.agent()
          + " of workspace " + t.workspace() + " did not open port " + t.port() + ": "
          + r.code() + " " + r.reason());
    }
    return new AppProxyException(502, "app_unreachable", "cannot reach port " + t.port()
        + " in workspace " + t.workspace() + " (agent " + t.agent() + "): "
        + cause.getMessage());
  }

  /**
   * Why a connection through another relay could not be opened: no relay holds the agent
   * ({@code agent_not_connected}), the holder could not be reached or the control plane could
   * not say which relay holds it ({@code relay_unreachable}, naming the relay and why), the
   * holder refused ({@code forbidden}: its own check of the app token or share said no), or its
   * agent did ({@code app_unreachable}).
   */
  /**
   * The part of a forwarding error a browser may see: up to the first {@code ": "} ("agent 'main'
   * of workspace 'alice/box' is on relay eu/eu-2, which did not answer"), without the details
   * after it (peer addresses, dial and peer-ticket errors), which are logged instead.
   */
  static String headline(String reason) {
    if (reason == null) {
      return "no reason given";
    }
    int i = reason.indexOf(": ");
    return i > 0 ? reason.substring(0, i) : reason;
  }

  private AppProxyException forwardFailure(AppTarget t, Throwable cause) {
    if (!(cause instanceof StreamResetException r)) {
      // the details (peer addresses, dial and peer-ticket errors) go to the log, not to the
      // browser: a public share shows this page to anyone
      LOG.atWarn().setMessage("app request could not be forwarded").addKeyValue("app", t.app())
          .addKeyValue("relay", tunnels.relayName()).addKeyValue("error", cause.getMessage())
          .log();
      return new AppProxyException(502, "relay_unreachable", t.agentDescription()
          + " is not connected to relay " + tunnels.relayName() + ", and forwarding to the"
          + " relay holding it failed: " + headline(cause.getMessage()));
    }
    boolean remote = r instanceof StreamRefusedException x && x.isRemote();
    if (!remote) {
      if (r.reason() != null && r.reason().contains(Forwarder.NOT_HELD)) {
        return new AppProxyException(502, "agent_not_connected", "agent '" + t.agent()
            + "' of workspace " + t.workspace() + " is not connected to relay "
            + tunnels.relayName() + " nor to any other relay; start it, or wait until it"
            + " reconnects");
      }
      LOG.atWarn().setMessage("app request could not be forwarded").addKeyValue("app", t.app())
          .addKeyValue("relay", tunnels.relayName()).addKeyValue("error", r.reason()).log();
      return new AppProxyException(502, "relay_unreachable", headline(r.reason()));
    }
    return switch (r.code()) {
      case UNREACHABLE, GOING_AWAY -> new AppProxyException(502, "agent_not_connected",
          r.reason());
      case UNAUTHORIZED, FORBIDDEN -> new AppProxyException(403, "forbidden", "the relay"
          + " holding " + t.agentDescription() + " refused the request: " + r.reason());
      case CONNECT_REFUSED -> new AppProxyException(502, "app_unreachable", "nothing is"
          + " listening on port " + t.port() + " in workspace " + t.workspace() + " (agent "
          + t.agent() + "): " + r.reason());
      default -> new AppProxyException(502, "app_unreachable", "agent " + t.agent()
          + " of workspace " + t.workspace() + " did not open port " + t.port()
          + " (through the relay holding it): " + r.code() + " " + r.reason());
    };
  }

  private static AppProxyException notConnected(AppTarget t, String why) {
    return new AppProxyException(502, "agent_not_connected", "agent '" + t.agent()
        + "' of workspace " + t.workspace() + " is not connected to this relay (" + why + ")");
  }
}
