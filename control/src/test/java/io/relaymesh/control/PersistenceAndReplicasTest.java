package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jwt.SignedJWT;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.tickets.TicketVerifier;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Restart persistence with the embedded PostgreSQL, and two control planes on one database. */
@ExtendWith(SharedPostgres.class)
@Timeout(240)
class PersistenceAndReplicasTest {

  @Test
  void embeddedPostgresKeepsDataAcrossRestartsAndStopsCleanly(@TempDir Path dataDir) {
    ControlConfig config = Control.config(dataDir, null);
    String agentToken;
    try (Control first = Control.start(config)) {
      assertThat(first.server.embeddedDatabase()).isTrue();
      String admin = first.setupAdmin();
      agentToken = first.createWorkspace(admin, "dev").getString("agentToken");
      first.createRegion(admin, "eu");
    }
    Path cluster = dataDir.resolve("postgres");
    assertThat(cluster.resolve("PG_VERSION")).exists();
    assertThat(cluster.resolve("postmaster.pid")).as("PostgreSQL stopped").doesNotExist();

    try (Control second = Control.start(config)) {
      String admin = second.login(Control.ADMIN, Control.PASSWORD);
      Resp ws = second.http.get("/api/v1/workspaces/admin/dev", admin);
      assertThat(ws.status()).isEqualTo(200);
      assertThat(second.http.get("/api/v1/relays", admin).json().getJsonArray("regions")
          .getJsonObject(0).getString("region")).isEqualTo("eu");
      assertThat(second.http.get("/api/v1/setup", null).json().getBoolean("setupRequired")).isFalse();
      assertThat(second.query("SELECT count(*) FROM agent_tokens").get(0).get(0)).isEqualTo(1L);
      assertThat(agentToken).startsWith("rma_");
    }
    assertThat(cluster.resolve("postmaster.pid")).doesNotExist();
  }

  @Test
  void twoControlPlanesShareOneDatabase(@TempDir Path dir) throws Exception {
    String url = SharedPostgres.url(SharedPostgres.newDatabase());
    try (Control a = Control.start(Control.config(dir.resolve("a"), url));
         Control b = Control.start(Control.config(dir.resolve("b"), url))) {
      // first-user setup raced on both replicas: exactly one wins
      var setupA = java.util.concurrent.CompletableFuture.supplyAsync(() -> a.http.post(
          "/api/v1/setup", null, new JsonObject().put("username", "admin").put("password", Control.PASSWORD)));
      var setupB = java.util.concurrent.CompletableFuture.supplyAsync(() -> b.http.post(
          "/api/v1/setup", null, new JsonObject().put("username", "other").put("password", Control.PASSWORD)));
      java.util.List<Integer> statuses = java.util.stream.Stream.of(setupA.get(), setupB.get())
          .map(Resp::status).sorted().toList();
      assertThat(statuses).containsExactly(201, 409);
      assertThat(a.query("SELECT count(*) FROM users").get(0).get(0)).isEqualTo(1L);
      String winner = (String) a.query("SELECT username FROM users").get(0).get(0);
      String admin = a.login(winner, Control.PASSWORD);
      b.createWorkspace(admin, "dev");
      // a session from A works on B, and logout on B revokes it for A
      assertThat(b.http.get("/api/v1/me", admin).status()).isEqualTo(200);
      assertThat(a.http.get("/api/v1/workspaces/" + winner + "/dev", admin).status()).isEqualTo(200);
      assertThat(b.http.post("/api/v1/setup", null, new JsonObject().put("username", "x")
          .put("password", Control.PASSWORD)).status()).isEqualTo(409);

      // both sign with the shared key; tickets of either verify against the keys of the other
      String fromA = a.http.post("/api/v1/tickets", admin, new JsonObject()
          .put("workspace", "dev").put("port", 22)).json().getString("ticket");
      String fromB = b.http.post("/api/v1/tickets", admin, new JsonObject()
          .put("workspace", "dev").put("port", 22)).json().getString("ticket");
      assertThat(SignedJWT.parse(fromA).getHeader().getKeyID())
          .isEqualTo(SignedJWT.parse(fromB).getHeader().getKeyID());
      new TicketVerifier(TicketVerifier.fromControlPlane(b.server.url()), "eu").verify(fromA);

      // a rotation on A is published by B at once
      String kid = Control.await(a.server.rotateSigningKey()).getKeyID();
      assertThat(b.http.get("/api/v1/keys", null).json().getJsonArray("keys").getJsonObject(0)
          .getString("kid")).isEqualTo(kid);

      String token = a.login(winner, Control.PASSWORD);
      assertThat(b.http.post("/api/v1/logout", token, null).status()).isEqualTo(204);
      assertThat(a.http.get("/api/v1/me", token).status()).isEqualTo(401);
    }
  }

  @Test
  void unreachableDatabaseStopsStartupWithAClearError(@TempDir Path dir) throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    ControlConfig config = Control.config(dir,
        "postgresql://relaymesh:s3cret-pw@127.0.0.1:" + closedPort + "/relaymesh");
    assertThatThrownBy(() -> Control.start(config))
        .hasMessageContaining("127.0.0.1:" + closedPort + "/relaymesh")
        .satisfies(e -> assertThat(e.toString()).doesNotContain("s3cret-pw"));
    assertThat(Files.exists(dir.resolve("postgres"))).isFalse();
  }
}
