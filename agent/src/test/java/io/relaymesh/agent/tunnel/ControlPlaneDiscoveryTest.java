package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent finds its relay through a real control plane (embedded PostgreSQL): a registered
 * replica's {@code publicUrl} from {@code GET /api/v1/agent/relays}, with the agent token the
 * control plane issued.
 */
@Timeout(150)
class ControlPlaneDiscoveryTest {
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  static JsonObject call(String base, String method, String path, String token, JsonObject body, int expected)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isEqualTo(expected);
    return r.body().isBlank() ? new JsonObject() : new JsonObject(r.body());
  }

  @Test
  void agentConnectsToTheRelayTheControlPlaneNames(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    ControlServer control = null;
    try {
      control = ControlServer.start(vertx, ControlConfig.defaults().withListen("127.0.0.1:0")
          .withDataDir(dir.resolve("control"))).await(120, TimeUnit.SECONDS);
      String cp = control.url();
      call(cp, "POST", "/api/v1/setup", null, new JsonObject().put("username", "admin")
          .put("password", "correct horse battery"), 201);
      String admin = call(cp, "POST", "/api/v1/login", null, new JsonObject().put("username", "admin")
          .put("password", "correct horse battery"), 200).getString("token");
      String relayToken = call(cp, "POST", "/api/v1/relays", admin, new JsonObject().put("region", "local"), 201)
          .getString("relayToken");
      String agentToken = call(cp, "POST", "/api/v1/workspaces", admin, new JsonObject().put("name", "dev"), 201)
          .getString("agentToken");

      try (TestRelay relay = new TestRelay(vertx, agentToken)) {
        call(cp, "POST", "/api/v1/relay/register", relayToken, new JsonObject().put("replicaId", "local-1")
            .put("publicUrl", "https://127.0.0.1:" + relay.port()), 200);
        AgentConfig config = AgentConfig.defaults().withCredentials(cp, agentToken)
            .withTrust(null, relay.fingerprint())
            .withStateDir(dir.resolve("state"))
            .withReconnect(Duration.ofMillis(50), Duration.ofMillis(500));
        AgentOptions options = AgentOptions.defaults().withEnvironment(Map.of())
            .withSsh(SshServerOptions.defaults().withHome(dir));
        Agent agent = Agent.start(vertx, config, options).await(30, TimeUnit.SECONDS);
        try {
          relay.nextSession();
          assertThat(agent.whenConnected().await(20, TimeUnit.SECONDS))
              .isEqualTo("wss://127.0.0.1:" + relay.port() + "/api/v1/tunnel/agent");
        } finally {
          agent.close().await(20, TimeUnit.SECONDS);
        }

        // a token the control plane does not know: the agent says so and keeps trying
        Agent stranger = Agent.start(vertx, config.withCredentials(cp, "rma_" + "x".repeat(43)), options)
            .await(30, TimeUnit.SECONDS);
        try {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (stranger.lastError() == null && System.nanoTime() < deadline) {
            Thread.sleep(50);
          }
          assertThat(stranger.lastError()).startsWith("agent token rejected by the control plane "
              + cp + "/api/v1/agent/relays answered 401 unauthenticated: ");
          assertThat(stranger.isConnected()).isFalse();
        } finally {
          stranger.close().await(20, TimeUnit.SECONDS);
        }
      }
    } finally {
      if (control != null) {
        control.close().await(60, TimeUnit.SECONDS);
      }
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
