package io.relaymesh.relay;

import io.relaymesh.config.ConfigLoader;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.tickets.TicketVerifier;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.apps.AppAuth;
import io.relaymesh.relay.apps.AppForwarder;
import io.relaymesh.relay.apps.AppRouter;
import io.relaymesh.relay.apps.AppsControl;
import io.relaymesh.relay.control.AgentAuthCache;
import io.relaymesh.relay.control.ControlClient;
import io.relaymesh.relay.control.Registration;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.http.AdminListener;
import io.relaymesh.relay.http.HealthEndpoints;
import io.relaymesh.relay.http.Http2IdleGuard;
import io.relaymesh.relay.http.JsonErrors;
import io.relaymesh.relay.http.SlowClientGuard;
import io.relaymesh.relay.http.ConsistencyEndpoint;
import io.relaymesh.relay.http.ConnectionsPerAddress;
import io.relaymesh.relay.metrics.RelayMetrics;
import io.relaymesh.relay.peer.PeerEndpoint;
import io.relaymesh.relay.peer.PeerForwarder;
import io.relaymesh.relay.peer.PeerSessions;
import io.relaymesh.relay.tls.CertificateReloader;
import io.relaymesh.relay.tls.RelayTls;
import io.relaymesh.relay.tls.TlsEngine;
import io.relaymesh.relay.tls.TlsPolicy;
import io.relaymesh.relay.tls.TlsSettings;
import io.relaymesh.relay.tunnel.AgentEndpoint;
import io.relaymesh.relay.tunnel.AgentRegistry;
import io.relaymesh.relay.tunnel.ClientEndpoint;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.relaymesh.proxy.wire.WireSpec;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A regional relay: TLS listener with the agent tunnel endpoint ({@code /api/v1/tunnel/agent}),
 * the client tunnel endpoint ({@code /api/v1/tunnel/client}), the peer endpoint for streams
 * other relays forward ({@code /api/v1/tunnel/peer}) and health endpoints; a client stream for
 * an agent held by another relay is forwarded there one hop ({@link PeerForwarder}); registration
 * and heartbeat with the control plane; agent presence and the connection log. With
 * {@code relay.apps-host} set, requests for its subdomains are workspace apps ({@link AppRouter},
 * HTTP/1.1 and HTTP/2 through ALPN) and never reach the endpoints above. With
 * {@code relay.admin-listen} set, {@code /metrics} and {@code /debug/consistency} move to a
 * plain-HTTP admin listener ({@link AdminListener}) and the public listener answers them 404.
 *
 * <pre>{@code
 * RelayServer relay = RelayServer.start(vertx, config).await();   // or RelayServer.run(config)
 * relay.url(); relay.port(); relay.caCertPem(); relay.fingerprint();
 * relay.firstRegistration();   // completes once registered (readyz 200)
 * relay.drain(Duration.ofSeconds(30));  // SIGTERM: GOAWAY, wait, then close
 * relay.close();
 * }</pre>
 *
 * <p>One HTTP server instance per event loop (verticle instances sharing the port), so tunnels
 * spread over the event loops. Starting does not wait for the control plane: the relay listens
 * at once, answers {@code /readyz} 503 until it is registered and refuses agents with 503 while
 * their tokens cannot be checked.
 */
public final class RelayServer {

  private static final Logger LOG = LoggerFactory.getLogger(RelayServer.class);

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final RelayConfig config;
  private final String replicaId;
  private final RelayMetrics metrics;
  private final AgentRegistry registry = new AgentRegistry();
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
  /**
   * New tunnel handshakes (agent, client, peer) accepted per second ({@code relay.handshake-rate}),
   * in bursts of up to one second's worth; more are refused with 503 and {@code Retry-After: 1}
   * before any token check, so that the reconnect storm after a restart is spread out (agents
   * retry with jittered backoff) instead of hammering the relay and the control plane.
   */
  private final io.relaymesh.proxy.limits.RateLimiter handshakes;
  private final java.util.concurrent.atomic.LongAdder handshakesRefused =
      new java.util.concurrent.atomic.LongAdder();
  /** {@code relay.listener.max-connections-per-address}; null when 0 (off). */
  private final ConnectionsPerAddress perAddress;
  private ControlClient control;
  private Reporter reporter;
  private ControlClient reports;
  private Registration registration;
  private Tunnels tunnels;
  private PeerSessions peers;
  private PeerEndpoint peerEndpoint;
  private RelayTls tls;
  private CertificateReloader reloader;
  private volatile AdminListener admin; // null: relay.admin-listen not set
  private String deploymentId;
  private int port;
  private String url;
  private volatile boolean closed;
  private volatile boolean draining;
  private volatile boolean deregistered;

  private RelayServer(Vertx vertx, boolean ownsVertx, RelayConfig config) {
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
    this.config = config;
    this.handshakes = new io.relaymesh.proxy.limits.RateLimiter(Math.max(1, config.handshakeRate()),
        System::nanoTime);
    this.replicaId = config.replicaId() != null ? config.replicaId()
        : config.region() + "-" + UUID.randomUUID().toString().substring(0, 8);
    this.metrics = new RelayMetrics(this::ready, () -> draining);
    int perAddressMax = config.listener().maxConnectionsPerAddress();
    this.perAddress = perAddressMax <= 0 ? null : new ConnectionsPerAddress(perAddressMax,
        "relay " + config.region() + "/" + replicaId, metrics::connectionRefused);
  }

  /**
   * Starts a relay on {@code vertx} (which {@link #close()} leaves running); completes once it
   * listens. Fails on an invalid configuration or unusable certificate.
   */
  public static Future<RelayServer> start(Vertx vertx, RelayConfig config) {
    List<String> problems = ConfigLoader.validate("relay", config);
    if (!problems.isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("invalid relay configuration: "
          + String.join("; ", problems)));
    }
    RelayServer s = new RelayServer(vertx, false, config);
    return s.doStart().recover(e -> s.close().transform(x -> Future.failedFuture(e)));
  }

  /**
   * Starts a relay on its own Vert.x (native transport when available) and waits until it
   * listens; {@link #close()} stops that Vert.x too. For the CLI; call from a plain thread.
   */
  public static RelayServer run(RelayConfig config) {
    Vertx vertx = Transports.create(new VertxOptions());
    List<String> problems = ConfigLoader.validate("relay", config);
    RelayServer s = new RelayServer(vertx, true, config);
    try {
      if (!problems.isEmpty()) {
        throw new IllegalArgumentException("invalid relay configuration: "
            + String.join("; ", problems));
      }
      return s.doStart().toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);
    } catch (Exception e) {
      s.stop();
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
          ? e.getCause() : e;
      throw cause instanceof RuntimeException re ? re
          : new IllegalStateException("relay did not start: " + cause.getMessage(), cause);
    }
  }

  private Future<RelayServer> doStart() {
    control = new ControlClient(vertx, config.controlUrl(), config.token(),
        ControlClient.DEFAULT_TIMEOUT).observer(metrics::controlCall);
    // reports (connection log, presence) get their own client: its pool (5 connections, no
    // keep-alive) would otherwise queue the data path's calls (app resolution, agent auth) behind
    // a backlog of thousands of records after a burst of connections, for seconds
    reports = new ControlClient(vertx, config.controlUrl(), config.token(),
        ControlClient.DEFAULT_TIMEOUT).observer(metrics::controlCall);
    reporter = new Reporter(reports, replicaId).onDrop(metrics::connectionRecordDropped);
    metrics.connectionRecordsPending(reporter::pendingConnections);
    // "cannot say" is remembered briefly too: a reconnect storm during a control-plane outage
    // costs one request per token and second
    AgentAuthCache auth = new AgentAuthCache(control, config.agentAuthTtl(),
        config.agentAuthNegativeTtl(), AgentAuthCache.UNAVAILABLE_TTL);
    TicketVerifier verifier = new TicketVerifier(
        TicketVerifier.fromControlPlane(config.controlUrl()), config.region());
    tunnels = new Tunnels(config.tunnel(), metrics, config.region() + "/" + replicaId);
    AgentEndpoint agents = new AgentEndpoint(vertx, tunnels, registry, auth, reporter,
        config.agentAuthTtl());
    peers = new PeerSessions(vertx, control, tunnels, replicaId, config.tunnel());
    PeerForwarder forwarder = new PeerForwarder(control, peers, config.region(), replicaId);
    ClientEndpoint clients = new ClientEndpoint(vertx, tunnels, registry, verifier, reporter,
        forwarder);
    AppsControl appsControl = new AppsControl(control);
    AppAuth appAuth = new AppAuth(vertx, verifier, appsControl);
    peerEndpoint = new PeerEndpoint(vertx, tunnels, registry, verifier, reporter,
        config.region(), replicaId).apps(appAuth);
    HealthEndpoints health = new HealthEndpoints(this::notReadyReason,
        () -> new JsonObject().put("region", config.region()).put("replicaId", replicaId));
    ConsistencyEndpoint consistency = new ConsistencyEndpoint(vertx, config.token(),
        () -> ConsistencyEndpoint.check(metrics, tunnels, registry,
            peerEndpoint::sessionCount));
    AppRouter apps = config.appsHost() == null ? null : new AppRouter(vertx, config.appsHost(),
        appsControl, appAuth, registry,
        new AppForwarder(vertx, tunnels, reporter).peers(forwarder),
        config.region() + "/" + replicaId)
        .metrics(metrics);

    String host = listenHost(config.listen());
    int wanted = listenPort(config.listen());
    return startAdmin(health, consistency).compose(a -> vertx.executeBlocking(() -> {
      tls = RelayTls.create(tlsSettings(config));
      try {
        verifier.refresh(); // warm the key cache; an unknown kid refreshes again later
      } catch (java.io.IOException e) {
        LOG.warn("relay: ticket keys not fetched yet from {}: {}", config.controlUrl(),
            e.getMessage());
      }
      return tls;
    }, false)).compose(t -> {
      HttpServerOptions options = TlsPolicy.handshakeTimeout(t.configure(new HttpServerOptions()
          .setHost(host).setPort(wanted).setTcpNoDelay(true)
          // only for connections no guard takes (an HTTP/2 client that never sends its
          // SETTINGS: Vert.x calls the connection handler after them); the guards remove it
          .setIdleTimeout((int) config.listener().keepaliveTimeout().toMillis())
          .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
          .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL)
          .setMaxWebSocketFrameSize(65536)
          // our own clients (port-forward, agent, peer relay) send unmasked frames when the
          // upgrade negotiated it (WireSpec.UNMASKED_FRAMES_HEADER); masked ones stay accepted
          .setAcceptUnmaskedFrames(true)
          .setMaxWebSocketMessageSize(256 * 1024)), config.listener().tlsHandshakeTimeout());
      int instances = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 16));
      return vertx.deployVerticle(() -> new io.vertx.core.VerticleBase() {
        @Override
        public Future<?> start() {
          HttpServer server = vertx.createHttpServer(options);
          server.connectionHandler(RelayServer.this::tlsConnection);
          server.exceptionHandler(RelayServer.this::connectionFailed);
          server.requestHandler(req -> route(req, apps, health, consistency, agents,
              clients, peerEndpoint));
          return server.listen().onSuccess(servers::add);
        }
      }, new DeploymentOptions().setInstances(instances));
    }).map(id -> {
      deploymentId = id;
      port = servers.get(0).actualPort();
      url = config.publicUrl() != null ? stripSlash(config.publicUrl())
          : "https://" + urlHost(host) + ":" + port;
      reloader = tls.watch(vertx);
      for (HttpServer s : servers) {
        // reloaded certificates keep the configured handshake timeout
        reloader.addTarget(o -> s.updateSSLOptions(TlsPolicy.handshakeTimeout(
            new io.vertx.core.net.ServerSSLOptions(o), config.listener().tlsHandshakeTimeout())));
      }
      LOG.info("relay {} of region {} listening on {}:{} as {} (tls engine {}, certificate sha256"
          + " {}{}, transport {}, {} event loops)", replicaId, config.region(), host, port, url,
          tls.engine().description(), fingerprint(), tls.selfSigned() ? ", self-signed" : "",
          Transports.name(vertx), servers.size());
      registration = new Registration(vertx, control, replicaId, url,
          registeredAppsHost(config.appsHost(), url), RelayConfig.peerAddressForm(config.peerAddress()),
          version(), this::fingerprint, agents::reportAllPresent);
      registration.start();
      return this;
    });
  }

  /**
   * The plain-HTTP admin listener on {@code relay.admin-listen}, when set; fails naming the
   * setting when it cannot listen. Started first: a relay whose admin port is taken never
   * registers.
   */
  private Future<AdminListener> startAdmin(HealthEndpoints health,
      ConsistencyEndpoint consistency) {
    if (!config.adminEnabled()) {
      return Future.succeededFuture();
    }
    return AdminListener.start(vertx, config.adminListen().strip(), health, consistency,
        metrics.metrics()::handle).onSuccess(a -> {
          admin = a;
          LOG.atInfo().setMessage("relay admin listener (metrics, health, consistency)")
              .addKeyValue("replica", replicaId).addKeyValue("admin_url", a.url()).log();
        });
  }

  /**
   * A new connection (called once its TLS handshake is done, before it reads a request): counts
   * its TLS protocol; closes it when its address is over
   * {@code relay.listener.max-connections-per-address} ({@link ConnectionsPerAddress}, which from
   * the first connection on refuses them at accept already, before their handshake); counts the
   * open connections, and puts the {@link SlowClientGuard} on HTTP/1.x connections, the
   * {@link Http2IdleGuard} on HTTP/2 ones.
   */
  private void tlsConnection(io.vertx.core.http.HttpConnection c) {
    javax.net.ssl.SSLSession ssl = c.sslSession();
    if (ssl != null) {
      metrics.tlsHandshake(tlsProtocol(ssl.getProtocol()));
    }
    if (!(c instanceof io.vertx.core.net.impl.ConnectionBase base)) {
      metrics.listenerConnection(1);
      c.closeHandler(v -> metrics.listenerConnection(-1));
    } else {
      io.netty.channel.Channel ch = base.channel();
      if (perAddress != null && !perAddress.connected(ch)) {
        ch.close(); // refused (counted, logged): never in the gauge
        return;
      }
      metrics.listenerConnection(1);
      // counted out when the socket closes, once: Vert.x's closeHandler never runs for a
      // connection upgraded to a WebSocket (tunnels) or turned into a NetSocket (pass-through)
      ch.closeFuture().addListener(f -> metrics.listenerConnection(-1));
      if (!SlowClientGuard.install(ch, config.listener(), metrics::connectionRefused)
          && !Http2IdleGuard.install(ch, config.listener(), metrics::connectionRefused)) {
        // a Vert.x whose pipeline names changed: the listener's idle timeout stays, which would
        // also close quiet WebSocket tunnels after relay.listener.keepalive-timeout
        LOG.warn("relay {}: no slow-client guard for connection from {} (pipeline {})",
            replicaId, c.remoteAddress(), ch.pipeline().names());
      } else if (ch.pipeline().get("idle") != null) {
        ch.pipeline().remove("idle"); // the guard is finer (and leaves WebSocket tunnels alone)
      }
    }
  }

  /** The bounded {@code protocol} label. */
  static String tlsProtocol(String p) {
    return switch (p == null ? "" : p) {
      case "TLSv1.3", "TLSv1.2" -> p;
      default -> "other";
    };
  }

  /** A connection failed before it became an HTTP connection: counts failed TLS handshakes. */
  private void connectionFailed(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        metrics.tlsHandshake("failed");
        metrics.connectionRefused(t instanceof io.netty.handler.ssl.SslHandshakeTimeoutException
            ? "tls-handshake-timeout" : "tls-handshake-failed");
        LOG.debug("relay {}: TLS handshake failed: {}", replicaId, t.toString());
        return;
      }
    }
    LOG.debug("relay {}: connection failed: {}", replicaId, e.toString());
  }

  private void route(HttpServerRequest req, AppRouter apps, HealthEndpoints health,
      ConsistencyEndpoint consistency, AgentEndpoint agents, ClientEndpoint clients,
      PeerEndpoint peer) {
    if (apps != null && apps.handle(req)) {
      return; // an app host: never the relay's own endpoints
    }
    if (health.handle(req)) {
      return;
    }
    switch (req.path()) {
      case "/metrics" -> unlessAdmin(req, () -> metrics.metrics().handle(req));
      case ConsistencyEndpoint.PATH -> unlessAdmin(req, () -> consistency.handle(req));
      case AgentEndpoint.PATH -> upgradeOnly(req, () -> agents.handle(req));
      case ClientEndpoint.PATH -> upgradeOnly(req, () -> clients.handle(req));
      case PeerEndpoint.PATH -> upgradeOnly(req, () -> peer.handle(req));
      default -> JsonErrors.send(req, 404, "not_found", "no such endpoint: " + req.path());
    }
  }

  /**
   * An admin endpoint on the public listener: served only without {@code relay.admin-listen},
   * else 404 like any unknown path.
   */
  private void unlessAdmin(HttpServerRequest req, Runnable handler) {
    if (config.adminEnabled()) {
      JsonErrors.send(req, 404, "not_found", "no such endpoint: " + req.path());
    } else {
      handler.run();
    }
  }

  private void upgradeOnly(HttpServerRequest req, Runnable handler) {
    String endpoint = switch (req.path()) {
      case AgentEndpoint.PATH -> "agent";
      case ClientEndpoint.PATH -> "client";
      default -> "peer";
    };
    if (!req.canUpgradeToWebSocket()) {
      metrics.handshakeFailure(endpoint, "bad-request");
      JsonErrors.send(req, 400, "bad_request", req.path()
          + " is a WebSocket endpoint (subprotocol " + WireSpec.SUBPROTOCOL + ")");
      return;
    }
    boolean admitted;
    synchronized (handshakes) {
      admitted = handshakes.tryAcquire();
    }
    if (!admitted) {
      handshakesRefused.increment();
      metrics.handshakeFailure(endpoint, "rate-limited");
      req.response().putHeader("Retry-After", "1");
      JsonErrors.send(req, 503, "busy", "relay " + config.region() + "/" + replicaId
          + " accepts at most " + config.handshakeRate() + " new tunnels per second;"
          + " retry shortly");
      return;
    }
    handler.run();
  }

  /**
   * The open connections per client address of the public listener
   * ({@code relay.listener.max-connections-per-address}), or null when that limit is off.
   */
  public ConnectionsPerAddress connectionsPerAddress() {
    return perAddress;
  }

  /** New tunnels (agent, client, peer) refused by the handshake rate limit so far. */
  public long handshakesRefused() {
    return handshakesRefused.sum();
  }

  static TlsSettings tlsSettings(RelayConfig config) {
    TlsConfig t = config.tls();
    TlsEngine.Preference engine = TlsEngine.Preference.parse(
        t.engine() == null ? TlsConfig.DEFAULT_ENGINE : t.engine());
    if (t.enabled()) {
      return TlsSettings.files(t.cert(), t.key()).withEngine(engine);
    }
    List<String> names = new ArrayList<>();
    if (config.publicUrl() != null) {
      names.add(URI.create(config.publicUrl()).getHost());
    }
    String host = listenHost(config.listen());
    if (!host.equals("0.0.0.0") && !host.equals("::")) {
      names.add(host);
    }
    if (config.appsHost() != null) {
      names.add("*." + config.appsHost());
    }
    return TlsSettings.selfSigned(t.stateDir(), names).withEngine(engine);
  }

  /** Why the relay is not ready ({@code /readyz} answers 503 with it), or {@code null}. */
  public String notReadyReason() {
    boolean tlsLoaded;
    try {
      tlsLoaded = tls != null && current() != null;
    } catch (RuntimeException e) {
      tlsLoaded = false;
    }
    return notReadyReason(closed, tunnels == null ? null : tunnels.refusing(), tlsLoaded,
        registration == null ? "relay is starting" : registration.problem());
  }

  /**
   * The readiness rule of {@code /readyz} and {@code relaymesh_relay_ready}: not closing, not
   * draining, TLS material loaded, registered with the control plane; {@code null} when ready,
   * else why not.
   *
   * @param refusing why new tunnels are refused (draining), or null
   * @param registrationProblem why the relay is not registered, or null
   */
  static String notReadyReason(boolean closed, String refusing, boolean tlsLoaded,
      String registrationProblem) {
    if (closed) {
      return "relay is shutting down";
    }
    if (refusing != null) {
      return "draining: " + refusing;
    }
    if (!tlsLoaded) {
      return "TLS material is not loaded";
    }
    return registrationProblem;
  }

  /** The port the relay listens on. */
  public int port() {
    return port;
  }

  /** The port of the admin listener ({@code relay.admin-listen}), or -1 when it is not set. */
  public int adminPort() {
    return admin == null ? -1 : admin.port();
  }

  /** {@code http://host:port} of the admin listener, or null when it is not set. */
  public String adminUrl() {
    return admin == null ? null : admin.url();
  }

  /** The URL clients and agents use ({@code relay.public-url}, else derived from the listener). */
  public String url() {
    return url;
  }

  public String region() {
    return config.region();
  }

  public String replicaId() {
    return replicaId;
  }

  /**
   * The certificate chain as PEM: for a self-signed certificate, what clients trust
   * ({@code dev.json}'s {@code caCert}).
   */
  public String caCertPem() {
    return current().certificateChainPem();
  }

  /** SHA-256 fingerprint of the leaf certificate ({@code AB:CD:...}), for pinning. */
  public String fingerprint() {
    return current().sha256Fingerprint();
  }

  private io.relaymesh.relay.tls.PemMaterial current() {
    return reloader != null ? reloader.current() : tls.material();
  }

  /** Completes when the relay registered with the control plane for the first time. */
  public Future<Void> firstRegistration() {
    return registration.firstRegistration();
  }

  /** Whether the relay is registered, TLS is loaded and it is not draining. */
  public boolean ready() {
    return notReadyReason() == null;
  }

  /** The agent tunnels held. */
  public AgentRegistry agents() {
    return registry;
  }

  /** This relay's peer sessions to other relays (forwarding). */
  public PeerSessions peerSessions() {
    return peers;
  }

  /** Peer sessions other relays hold to this one. */
  public int inboundPeerSessions() {
    return peerEndpoint == null ? 0 : peerEndpoint.sessionCount();
  }

  /** The relay's meters (what {@code GET /metrics} serves). */
  public RelayMetrics metrics() {
    return metrics;
  }

  /** Whether the relay drains (after {@link #drain}). */
  public boolean draining() {
    return draining;
  }

  /** Live tunnel sessions (agents and clients). */
  public int sessionCount() {
    return tunnels.sessionCount();
  }

  /**
   * Drain (SIGTERM): readiness turns 503, new tunnels are refused, every session gets GOAWAY;
   * waits up to {@code timeout} for them to finish, then {@link #close()}s.
   */
  public Future<Void> drain(Duration timeout) {
    draining = true;
    LOG.info("relay {}: draining ({} sessions, up to {} s)", replicaId, tunnels.sessionCount(),
        timeout.toSeconds());
    Future<Void> drained = tunnels.drain(vertx, timeout, "relay is draining");
    // the control plane stops offering this replica at once (tickets, agents' relay lists)
    Future<Void> gone = deregister();
    return Future.join(drained, gone).transform(x -> close());
  }

  /** Stops heartbeats and deregisters this replica, once; never fails (logged). */
  private Future<Void> deregister() {
    if (deregistered || control == null) {
      return Future.succeededFuture();
    }
    deregistered = true;
    if (registration != null) {
      registration.close();
    }
    if (reporter != null) {
      reporter.deregistered();
    }
    return control.deregister(replicaId)
        .onSuccess(x -> LOG.info("relay {}: deregistered from the control plane", replicaId))
        .recover(e -> {
          LOG.warn("relay {}: could not deregister (the control plane forgets it after the"
              + " heartbeat timeout): {}", replicaId, e.getMessage());
          return Future.succeededFuture();
        });
  }

  /**
   * Closes the tunnels, stops registration and the listeners (the admin listener last), and the
   * own Vert.x of {@link #run}.
   */
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    Promise<Void> done = Promise.promise();
    if (registration != null) {
      registration.close();
    }
    if (reloader != null) {
      reloader.close();
    }
    if (peers != null) {
      peers.close();
    }
    Future<Void> sessions = tunnels == null ? Future.succeededFuture()
        : tunnels.closeAll(vertx, Tunnels.CLOSE_WAIT, "relay is shutting down");
    sessions.transform(x -> deploymentId == null ? Future.succeededFuture()
            : vertx.undeploy(deploymentId))
        // the admin listener last: /readyz answers 503 until the relay is gone
        .transform(x -> admin == null ? Future.<Void>succeededFuture() : admin.close())
        .transform(x -> {
          if (control != null) {
            control.close();
          }
          if (reports != null) {
            reports.close();
          }
          LOG.info("relay {} stopped", replicaId);
          metrics.close();
          return ownsVertx ? vertx.close() : Future.<Void>succeededFuture();
        })
        .onComplete(x -> done.complete());
    return done.future();
  }

  /** Blocking {@link #close()} for plain threads (CLI shutdown hooks, tests). */
  public void stop() {
    try {
      close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
    } catch (Exception e) {
      LOG.warn("relay {}: close did not finish cleanly: {}", replicaId, e.toString());
    }
  }

  /**
   * The apps host as the control plane publishes it in share URLs: {@code relay.apps-host} with
   * the relay's public port appended when it is not 443 ({@code apps.localhost:8443}), since app
   * URLs use the relay's port.
   */
  static String registeredAppsHost(String appsHost, String publicUrl) {
    if (appsHost == null) {
      return null;
    }
    int port = URI.create(publicUrl).getPort();
    return port < 0 || port == 443 ? appsHost : appsHost + ":" + port;
  }

  static String listenHost(String listen) {
    int colon = listen.lastIndexOf(':');
    String h = listen.substring(0, colon);
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }

  static int listenPort(String listen) {
    return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
  }

  private static String urlHost(String host) {
    if (host.equals("0.0.0.0") || host.isEmpty()) {
      return "127.0.0.1";
    }
    if (host.equals("::")) {
      return "[::1]";
    }
    return host.contains(":") ? "[" + host + "]" : host;
  }

  private static String stripSlash(String u) {
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }

  private static String version() {
    String v = RelayServer.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
