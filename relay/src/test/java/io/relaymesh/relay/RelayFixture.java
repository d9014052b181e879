package io.relaymesh.relay;

import static io.relaymesh.proxy.testutil.Await.await;

import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.proxy.Transports;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One real control plane (fresh database on the shared embedded PostgreSQL, heartbeat timeout 3 s
 * so heartbeats come every second) and one real relay of region {@code eu} on 127.0.0.1:0 with a
 * self-signed certificate and a 1 s agent-auth cache, for one test class.
 */
final class RelayFixture implements AutoCloseable {
  static final String REGION = "eu";
  static final Duration AUTH_TTL = Duration.ofSeconds(1);

  final Control control;
  final Vertx vertx;
  final RelayServer relay;
  final String adminToken;
  final String relayToken;

  RelayFixture(Path dir) {
    control = Control.start(Control.relayTestConfig(dir.resolve("control"),
        Duration.ofSeconds(3)));
    adminToken = control.setupAdmin();
    relayToken = control.createRegion(adminToken, REGION);
    control.createRegion(adminToken, "us");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    relay = await(RelayServer.start(vertx, relayConfig(control.server.url(), relayToken,
        dir.resolve("relay-tls"))));
  }

  static RelayConfig relayConfig(String controlUrl, String token, Path tlsDir) {
    return RelayConfig.defaults().withControl(controlUrl, token, REGION)
        .withListen("127.0.0.1:0").withTls(TlsConfig.defaults().withStateDir(tlsDir))
        .withAgentAuthTtl(AUTH_TTL, AUTH_TTL);
  }

  /** A user session token (creates the user). */
  String user(String name) {
    return control.createUser(adminToken, name);
  }

  /** Creates workspace {@code name} and returns its agent token. */
  String workspace(String userToken, String name) {
    return control.createWorkspace(userToken, name).getString("agentToken");
  }

  /** A ticket from {@code POST /api/v1/tickets}. */
  JsonObject ticket(String userToken, String workspace, int port) {
    return control.ticket(userToken, workspace, port, null);
  }

  @Override
  public void close() {
    relay.stop();
    await(vertx.close());
    control.close();
  }
}
