package io.relaymesh.agent;

import io.relaymesh.agent.ssh.AgentSshServer;
import io.relaymesh.agent.tunnel.Backoff;
import io.relaymesh.agent.tunnel.RelayDiscovery;
import io.relaymesh.agent.tunnel.RelayPicker;
import io.relaymesh.agent.tunnel.StreamAcceptor;
import io.relaymesh.agent.tunnel.TunnelKeeper;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.LatencyProbe;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.ProxySettings;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.telemetry.Metrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.ProxyOptions;
import io.vertx.core.net.ProxyType;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A workspace agent, in-process: keeps tunnels to relays and serves the streams they open
 * (loopback TCP ports, SSH). Used by {@code relaymesh agent} and by {@code relaymesh dev}.
 *
 * <pre>{@code
 * Agent agent = Agent.start(vertx, agentConfig).await();   // or .onSuccess(...)
 * ...
 * agent.close().await();                                  // stops reconnecting, closes the tunnel
 * }</pre>
 *
 * <p>The relay is {@code relay-url} when configured (one tunnel), else the agent holds tunnels to
 * {@code relay-count} distinct healthy replicas the control plane lists for it ({@code GET
 * /api/v1/agent/relays}, of the pinned {@code region} if any, looked up again before every
 * attempt): all of them when there are no more, else the nearest by round trip
 * ({@link LatencyProbe}, {@link io.relaymesh.proxy.dial.RelayChooser} hysteresis), measured again
 * every {@link TunnelKeeper#REMEASURE_EVERY}. TLS trust: {@code relay-fingerprint} (pinned), else {@code ca-cert} (PEM), else the
 * system trust store. {@code HTTPS_PROXY}/{@code NO_PROXY} apply to the tunnel and to https
 * control-plane calls. Reconnect policy: {@link TunnelKeeper}.
 *
 * <p>Thread-safe. {@link #start} may be called from any thread; the agent runs on one event loop.
 */
public final class Agent {
  private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

  private final AgentConfig config;
  private final TunnelKeeper keeper;
  private final StreamAcceptor acceptor;
  private final AgentSshServer ssh;
  private final NetClient netClient;
  private final HttpClient http;
  private final AgentMetrics metrics;
  private final HttpServer metricsServer; // null: metrics-address not set

  private Agent(AgentConfig config, TunnelKeeper keeper, StreamAcceptor acceptor, AgentSshServer ssh,
      NetClient netClient, HttpClient http, AgentMetrics metrics, HttpServer metricsServer) {
    this.config = config;
    this.keeper = keeper;
    this.acceptor = acceptor;
    this.ssh = ssh;
    this.netClient = netClient;
    this.http = http;
    this.metrics = metrics;
    this.metricsServer = metricsServer;
  }

  /** Starts an agent with the process environment and default SSH server settings. */
  public static Future<Agent> start(Vertx vertx, AgentConfig config) {
    return start(vertx, config, AgentOptions.defaults());
  }

  /**
   * Starts an agent: creates the built-in SSH server (host key in {@code state-dir}) unless
   * {@code ssh-target} is set, then starts connecting. The returned future completes once the
   * agent runs (not when the first tunnel is up: see {@link #whenConnected()}); it fails on
   * invalid configuration ({@code config.validate}) or an unusable SSH host key / proxy setting.
   */
  public static Future<Agent> start(Vertx vertx, AgentConfig config, AgentOptions options) {
    java.util.List<String> problems = new java.util.ArrayList<>();
    config.validate("agent", problems);
    if (!problems.isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException(String.join("; ", problems)));
    }
    ProxySettings proxy;
    try {
      proxy = options.proxy();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    Future<AgentSshServer> sshFuture = config.builtinSsh()
        ? vertx.executeBlocking(() -> AgentSshServer.create(config.stateDir(), options.ssh()), false)
        : Future.succeededFuture(null);
    AgentMetrics metrics = new AgentMetrics(Metrics.create());
    Future<Agent> started = sshFuture.compose(ssh -> {
      TrustSpec trust = config.relayFingerprint() != null ? TrustSpec.pinnedSha256(config.relayFingerprint())
          : config.caCert() != null ? TrustSpec.pemFile(config.caCert()) : TrustSpec.system();
      Duration dialTimeout = config.dialTimeout();
      DialOptions dialOptions = new DialOptions(trust, proxy, dialTimeout, dialTimeout, config.tunnel(), null);
      NetClient netClient = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true)
          .setConnectTimeout((int) config.targetConnectTimeout().toMillis()));
      HttpClient http = vertx.createHttpClient(controlPlaneOptions(config, proxy));
      StreamAcceptor acceptor = new StreamAcceptor(netClient, config.targetConnectTimeout(), ssh,
          config.builtinSsh() ? null : config.sshTarget(), metrics);
      Supplier<Future<List<RelayCandidate>>> relays;
      RelayPicker picker;
      if (config.relayUrl() != null) {
        List<RelayCandidate> one = List.of(new RelayCandidate(null, null, config.relayUrl()));
        relays = () -> Future.succeededFuture(one);
        picker = new RelayPicker(null, 1);
      } else {
        RelayDiscovery discovery = new RelayDiscovery(http, config.url(), config.token(), config.region());
        relays = discovery::findRelays;
        Duration probeTimeout = dialTimeout.compareTo(LatencyProbe.DEFAULT_TIMEOUT) < 0 ? dialTimeout
            : LatencyProbe.DEFAULT_TIMEOUT;
        picker = new RelayPicker(new LatencyProbe(vertx, dialOptions, LatencyProbe.DEFAULT_SAMPLES, probeTimeout),
            config.relayCount());
      }
      Context ctx = ((VertxInternal) vertx).createEventLoopContext();
      TunnelKeeper keeper = new TunnelKeeper(vertx, ctx, TunnelDialer.create(vertx, dialOptions), relays, picker,
          config.token(), acceptor, new Backoff(config.reconnectMin(), config.reconnectMax(), options.random()),
          options.random(), options.remeasureEvery(), metrics);
      // the relay list (connect + answer) and the round trips, with room to spare (45 s with
      // the default dial-timeout, TunnelKeeper.RECONCILE_LIMIT)
      keeper.reconcileLimit(dialTimeout.plus(RelayDiscovery.ANSWER_TIMEOUT)
          .plus(LatencyProbe.DEFAULT_TIMEOUT).plusSeconds(12));
      LOG.info("agent starting: control plane {}, relay {}, ssh {}, {}, {}", config.url(),
          config.relayUrl() != null ? config.relayUrl()
              : config.relayCount() + " from the control plane" + (config.region() != null
                  ? " (region " + config.region() + ")" : ", nearest first"), config.sshTarget(), trust,
          proxy != null ? proxy : "no proxy");
      return serveMetrics(vertx, config, metrics, keeper)
          .onFailure(e -> {
            if (ssh != null) {
              ssh.close();
            }
            netClient.close();
            http.close();
          })
          .map(server -> {
            keeper.start();
            return new Agent(config, keeper, acceptor, ssh, netClient, http, metrics, server);
          });
    });
    return started.onFailure(e -> metrics.metrics().close());
  }

  /**
   * The plain-HTTP listener on {@code metrics-address}: {@code GET /metrics}, {@code /healthz}
   * (the process answers) and {@code /readyz} (200 while at least one tunnel is connected, else
   * 503). Completes with null when the address is not set; fails when it cannot listen.
   */
  private static Future<HttpServer> serveMetrics(Vertx vertx, AgentConfig config, AgentMetrics metrics,
      TunnelKeeper keeper) {
    if (!config.metricsEnabled()) {
      return Future.succeededFuture(null);
    }
    String address = config.metricsAddress().strip();
    int colon = address.lastIndexOf(':');
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = Integer.parseInt(address.substring(colon + 1));
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port)
        .setIdleTimeout(60).setIdleTimeoutUnit(TimeUnit.SECONDS));
    server.requestHandler(req -> {
      String path = req.path() == null ? "" : req.path(); // null for an absolute-form URI
      switch (path) {
        case "/metrics" -> metrics.metrics().handle(req);
        case "/healthz" -> json(req, 200, new JsonObject().put("status", "ok"));
        case "/readyz" -> {
          List<String> relays = keeper.connectedUrls();
          if (relays.isEmpty()) {
            String why = keeper.lastError();
            json(req, 503, new JsonObject().put("code", "not_ready").put("message",
                "no tunnel to a relay is connected" + (why != null ? " (last error: " + why + ")" : "")));
          } else {
            json(req, 200, new JsonObject().put("status", "ready").put("tunnels", relays.size()));
          }
        }
        default -> json(req, 404, new JsonObject().put("code", "not_found")
            .put("message", "no such endpoint: " + path + " (try /metrics, /healthz, /readyz)"));
      }
    });
    String shown = address;
    return server.listen().recover(e -> Future.failedFuture(new IllegalArgumentException(
        "agent.metrics-address: cannot listen on " + shown + ": " + e.getMessage(), e)));
  }

  private static void json(HttpServerRequest req, int status, JsonObject body) {
    req.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store").end(body.encode());
  }

  private static HttpClientOptions controlPlaneOptions(AgentConfig config, ProxySettings proxy) {
    HttpClientOptions o = new HttpClientOptions().setConnectTimeout((int) config.dialTimeout().toMillis());
    URI control = URI.create(config.url());
    if (config.caCert() != null) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(config.caCert().toString()));
    }
    int port = control.getPort() > 0 ? control.getPort() : "https".equals(control.getScheme()) ? 443 : 80;
    if (proxy != null && "https".equals(control.getScheme()) && proxy.useProxyFor(control.getHost(), port)) {
      ProxyOptions po = new ProxyOptions().setType(ProxyType.HTTP).setHost(proxy.host()).setPort(proxy.port());
      if (proxy.username() != null) {
        po.setUsername(proxy.username()).setPassword(proxy.password());
      }
      o.setProxyOptions(po);
    }
    return o;
  }

  /** Completes with the relay's tunnel URL once a tunnel is up (at once if one is). */
  public Future<String> whenConnected() {
    return keeper.whenConnected();
  }

  /** Whether a tunnel is up now. */
  public boolean isConnected() {
    return keeper.connectedUrl() != null;
  }

  /** The tunnel URL of a relay connected to now (the nearest chosen), or null. */
  public String relayUrl() {
    return keeper.connectedUrl();
  }

  /** The tunnel URLs of every relay connected to now (tunnels draining after GOAWAY not counted). */
  public List<String> relayUrls() {
    return keeper.connectedUrls();
  }

  /**
   * The relay replicas of {@link #relayUrls()} ({@code region/replica-id}; distinct even when
   * replicas share one load-balanced URL).
   */
  public List<String> relayReplicas() {
    return keeper.connectedReplicas();
  }

  /** Why the last tunnel attempt failed or the last tunnel ended (for status output), or null. */
  public String lastError() {
    return keeper.lastError();
  }

  /** Streams being served now. */
  public int activeStreams() {
    return acceptor.activeStreams();
  }

  /** The built-in SSH server's host key as an OpenSSH line, or null with {@code ssh-target}. */
  public String sshHostKeyOpenSsh() {
    return ssh == null ? null : ssh.hostKeyOpenSsh();
  }

  public AgentConfig config() {
    return config;
  }

  /** This agent's meters (served on {@code metrics-address} when set). */
  public AgentMetrics metrics() {
    return metrics;
  }

  /**
   * {@code http://host:port} of the metrics listener (the bound port when {@code metrics-address}
   * asked for port 0), or null when {@code metrics-address} is not set.
   */
  public String metricsUrl() {
    if (metricsServer == null) {
      return null;
    }
    String address = config.metricsAddress().strip();
    String host = address.substring(0, address.lastIndexOf(':'));
    return "http://" + host + ":" + metricsServer.actualPort();
  }

  /**
   * Stops reconnecting and closes the tunnel(s) (GOAWAY; streams still open after
   * {@link TunnelKeeper#STOP_GRACE} are reset), then the SSH server and clients. Completes when
   * all is closed.
   */
  public Future<Void> close() {
    return keeper.stop().eventually(() -> {
      if (ssh != null) {
        ssh.close();
      }
      return Future.join(netClient.close(), http.close(),
          metricsServer == null ? Future.succeededFuture() : metricsServer.close());
    }).eventually(() -> {
      metrics.metrics().close();
      return Future.succeededFuture();
    }).mapEmpty();
  }
}
