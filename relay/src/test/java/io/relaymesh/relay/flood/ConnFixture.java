package io.relaymesh.relay.flood;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.ListenerConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.Waits;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * For {@link ConnectionFloodTest}: a real control plane (fresh database on the shared embedded
 * PostgreSQL), a real relay on 127.0.0.1:0 with apps host {@value #APPS_HOST} and short listener
 * limits ({@link #LIMITS}), user alice with workspaces {@code dev} and {@code other} whose test
 * agents are connected, and one workspace app (a Vert.x HTTP server on 127.0.0.1:0) shared
 * publicly in both, answering {@code 200 got N bytes} once it read the whole body; on
 * {@code /duplex} it answers at once with a chunked stream instead ({@code started}, then
 * {@code ack N} per body chunk and {@code done N bytes} when the body ended): a full-duplex app;
 * WebSocket upgrades are accepted and echoed.
 */
final class ConnFixture implements AutoCloseable {

  static final String APPS_HOST = "apps.localhost";
  static final String REGION = "eu";
  /** Short limits, so that the floods are cut within seconds. */
  static final ListenerConfig LIMITS = ListenerConfig.defaults()
      .withTlsHandshakeTimeout(Duration.ofSeconds(4)) // a loaded CI machine stays above it
      .withHeadTimeouts(Duration.ofMillis(1500), Duration.ofSeconds(3))
      .withBodyLimits(Duration.ofMillis(1500), 2048);

  Control control;
  Vertx vertx;
  RelayServer relay;
  String adminToken;
  String relayToken;
  String alice;
  String devToken;
  String otherToken;
  TestAgent dev;
  TestAgent other;
  HttpServer app;
  int appPort;
  /** Requests whose body the app saw end, and requests that failed (connection gone). */
  final AtomicInteger appCompleted = new AtomicInteger();
  final AtomicInteger appFailed = new AtomicInteger();
  final List<String> appErrors = new CopyOnWriteArrayList<>();

  ConnFixture(Path dir) {
    try {
      start(dir);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private void start(Path dir) {
    control = Control.start(Control.relayTestConfig(dir.resolve("control"),
        Duration.ofSeconds(3)));
    adminToken = control.setupAdmin();
    relayToken = control.createRegion(adminToken, REGION);
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    relay = startRelay(dir.resolve("relay-tls"), LIMITS);
    await(relay.firstRegistration());
    alice = control.createUser(adminToken, "alice");
    devToken = control.createWorkspace(alice, "dev").getString("agentToken");
    otherToken = control.createWorkspace(alice, "other").getString("agentToken");
    dev = await(TestAgent.connect(vertx, relay.port(), relay.caCertPem(), devToken));
    other = await(TestAgent.connect(vertx, relay.port(), relay.caCertPem(), otherToken));
    Waits.until("both agents registered on the relay", Duration.ofSeconds(20),
        () -> relay.agents().agentIds().size() == 2);
    app = vertx.createHttpServer();
    app.requestHandler(req -> {
      if (req.path().equals("/duplex")) {
        duplex(req);
        return;
      }
      req.body().onComplete(ar -> {
        if (ar.succeeded()) {
          appCompleted.incrementAndGet();
          req.response().putHeader("Content-Type", "text/plain")
              .end("got " + ar.result().length() + " bytes");
        } else {
          appFailed.incrementAndGet();
          appErrors.add(String.valueOf(ar.cause()));
        }
      });
    });
    app.webSocketHandler(ws -> ws.handler(ws::write)); // echo, for the pass-through
    appPort = await(app.listen(0, "127.0.0.1")).actualPort();
    share("dev", appPort);
    share("other", appPort);
  }

  /**
   * A relay of region {@value #REGION} on 127.0.0.1:0 with the apps host, registering with the
   * fixture's control plane, with listener limits {@code limits}; the caller stops it.
   */
  RelayServer startRelay(Path tlsDir, ListenerConfig limits) {
    return await(RelayServer.start(vertx, RelayConfig.defaults()
        .withControl(control.server.url(), relayToken, REGION).withListen("127.0.0.1:0")
        .withAppsHost(APPS_HOST)
        .withTls(TlsConfig.defaults().withStateDir(tlsDir))
        .withAgentAuthTtl(Duration.ofSeconds(2), Duration.ofSeconds(2))
        .withListener(limits)));
  }

  /** Streams its answer while the body is still coming. */
  private static void duplex(io.vertx.core.http.HttpServerRequest req) {
    io.vertx.core.http.HttpServerResponse resp = req.response().setChunked(true)
        .putHeader("Content-Type", "text/plain");
    resp.write("started\n");
    long[] bytes = {0};
    req.handler(b -> {
      bytes[0] += b.length();
      resp.write("ack " + bytes[0] + "\n");
    });
    req.endHandler(v -> resp.end("done " + bytes[0] + " bytes\n"));
  }

  private void share(String workspace, int port) {
    Resp r = control.http.call("PUT", "/api/v1/workspaces/alice/" + workspace
        + "/agents/main/ports/" + port + "/share", alice, new JsonObject().put("level", "public"));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
  }

  /** The public app host of the app in {@code workspace}. */
  String appHost(String workspace) {
    return appPort + "--main--" + workspace + "--alice." + APPS_HOST;
  }

  @Override
  public void close() {
    for (TestAgent a : new TestAgent[] {dev, other}) {
      if (a != null) {
        a.close();
      }
    }
    if (relay != null) {
      relay.stop();
    }
    if (app != null) {
      await(app.close());
    }
    if (vertx != null) {
      await(vertx.close());
    }
    if (control != null) {
      control.close();
    }
  }
}
