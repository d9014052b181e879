package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.relaymesh.relay.control.ControlClient;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.Waits;
import io.relaymesh.relay.tunnel.AgentTunnel;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.SelfSignedCertificate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real control plane (fresh database on the shared embedded PostgreSQL), a real relay, a test
 * agent of workspace {@code alice/dev} (agent {@code main}) connected through the relay's TLS
 * WebSocket endpoint, and a small test-only "front" HTTPS server (HTTP/1.1 and HTTP/2 by ALPN)
 * whose request handler pauses the request and calls {@link AppForwarder#forward} like the
 * relay's app router does. The workspace apps are Vert.x servers on 127.0.0.1:0 made by the
 * tests with {@link #app}.
 */
final class AppForwarderFixture implements AutoCloseable {

  static final SelfSignedCertificate CERT = SelfSignedCertificate.create("localhost");

  final Control control;
  final Vertx vertx;
  final RelayServer relay;
  final String adminToken;
  final TestAgent agent;
  final long agentId;
  final ControlClient controlClient;
  final AppForwarder forwarder;
  final HttpServer front;
  /** What the front saw fail: {@code status code message}. */
  final List<String> failures = new CopyOnWriteArrayList<>();

  AppForwarderFixture(Path dir, int maxIdle, Duration idleTimeout, Duration headTimeout) {
    ControlConfig d = Control.config(dir.resolve("control"),
        SharedPostgres.url(SharedPostgres.newDatabase()));
    control = Control.start(d);
    adminToken = control.setupAdmin();
    String relayToken = control.createRegion(adminToken, "eu");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    relay = await(RelayServer.start(vertx, RelayConfig.defaults()
        .withControl(control.server.url(), relayToken, "eu").withListen("127.0.0.1:0")
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("relay-tls")))));
    String alice = control.createUser(adminToken, "alice");
    String agentToken = control.createWorkspace(alice, "dev").getString("agentToken");
    agent = await(TestAgent.connect(vertx, relay.port(), relay.caCertPem(), agentToken));
    Waits.until("the agent registered on the relay", Duration.ofSeconds(20),
        () -> !relay.agents().agentIds().isEmpty());
    agentId = relay.agents().agentIds().iterator().next();
    controlClient = new ControlClient(vertx, control.server.url(), relayToken,
        ControlClient.DEFAULT_TIMEOUT);
    Reporter reporter = new Reporter(controlClient, relay.replicaId());
    forwarder = new AppForwarder(vertx, new Tunnels(TunnelConfig.defaults(),
        new io.relaymesh.relay.metrics.RelayMetrics(() -> true, () -> false)), reporter, maxIdle, idleTimeout)
        .headTimeout(headTimeout);
    front = await(vertx.createHttpServer(new HttpServerOptions().setSsl(true).setUseAlpn(true)
            .setKeyCertOptions(CERT.keyCertOptions()).setHost("127.0.0.1").setPort(0))
        .requestHandler(this::front).listen());
  }

  /** The front: {@code x-app-port} and {@code x-app-https} say which app to forward to. */
  private void front(HttpServerRequest req) {
    req.pause();
    org.slf4j.LoggerFactory.getLogger(AppForwarderFixture.class).info("front: {} {} from {}",
        req.method(), req.uri(), req.connection().remoteAddress());
    int port = Integer.parseInt(req.getHeader("x-app-port"));
    boolean https = "true".equals(req.getHeader("x-app-https"));
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(req.headers());
    forwarder.forward(req, req.uri(), headers, target(port, https)).onFailure(e -> {
      if (e instanceof AppProxyException ape) {
        failures.add(ape.status() + " " + ape.code() + " " + ape.getMessage());
        AppPages.whenAnswerable(req, () -> req.response().setStatusCode(ape.status())
            .putHeader("x-error-code", ape.code()).end(ape.getMessage()));
      } else {
        failures.add("500 internal " + e);
        req.response().setStatusCode(500).end(String.valueOf(e));
      }
    });
  }

  AppTarget target(int port, boolean https) {
    AgentTunnel tunnel = relay.agents().pick(agentId);
    return new AppTarget(tunnel, port + (https ? "s" : "") + "--main--dev--alice", port, https,
        "alice", "alice/dev", "main", "127.0.0.1");
  }

  /** An HTTP/1.1 (or HTTP/2 with ALPN) client of the front. */
  HttpClient client(boolean http2) {
    return vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
        .setVerifyHost(false).setDefaultHost("127.0.0.1").setDefaultPort(front.actualPort())
        .setProtocolVersion(http2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1)
        .setUseAlpn(http2).setKeepAlive(true).setIdleTimeout(60),
        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(1).setHttp2MaxSize(1));
  }

  /**
   * A workspace app on 127.0.0.1:0 ({@code https}: TLS with a self-signed certificate) that
   * counts its TCP connections.
   */
  App app(boolean https, Handler<HttpServerRequest> handler) {
    AtomicInteger connections = new AtomicInteger();
    HttpServerOptions o = new HttpServerOptions().setHost("127.0.0.1").setPort(0);
    if (https) {
      o.setSsl(true).setKeyCertOptions(CERT.keyCertOptions());
    }
    HttpServer s = await(vertx.createHttpServer(o)
        .connectionHandler(c -> connections.incrementAndGet())
        .requestHandler(handler).listen());
    return new App(s, connections);
  }

  /** A test app and how many connections it accepted. */
  record App(HttpServer server, AtomicInteger connections) {
    int port() {
      return server.actualPort();
    }

    void close() {
      await(server.close());
    }
  }

  @Override
  public void close() {
    await(front.close());
    agent.close();
    controlClient.close();
    relay.stop();
    await(vertx.close());
    control.close();
  }
}
