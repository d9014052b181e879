package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.tickets.PeerTickets;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketVerifier;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relay-to-relay forwarding on the control plane: TLS fingerprints registered and published,
 * peer tickets (who gets one, what it says, who accepts it), deregistration, {@code via} in the
 * connection log.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class PeerTicketApiTest {

  static final String FP = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
      + "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
  static Control c;
  static String admin;
  static String alice;
  static String eu;
  static String us;
  static long agentId;
  static TicketVerifier keys;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    admin = c.setupAdmin();
    alice = c.createUser(admin, "alice");
    String agent = c.createWorkspace(alice, "dev").getString("agentToken");
    eu = c.createRegion(admin, "eu");
    us = c.createRegion(admin, "us");
    register(eu, "eu-1", FP);
    register(us, "us-1", null);
    agentId = c.http.post("/api/v1/relay/agent-auth", eu, new JsonObject().put("token", agent))
        .json().getLong("agentId");
    keys = new TicketVerifier(TicketVerifier.fromControlPlane(c.server.url()), "eu");
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static void register(String token, String replica, String fingerprint) {
    JsonObject b = new JsonObject().put("replicaId", replica)
        .put("publicUrl", "https://" + replica + ".example.com");
    if (fingerprint != null) {
      b.put("tlsFingerprint", fingerprint);
    }
    Resp r = c.http.post("/api/v1/relay/register", token, b);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
  }

  static Resp peerTicket(String token, String replica, String targetRegion, String target) {
    return c.http.post("/api/v1/relay/peer-ticket", token, new JsonObject()
        .put("replicaId", replica).put("targetRegion", targetRegion)
        .put("targetReplicaId", target));
  }

  @Test
  void theFingerprintIsPublishedWithTheReplicasHoldingAnAgent() {
    assertThat(c.http.post("/api/v1/relay/presence", eu, new JsonObject().put("replicaId", "eu-1")
        .put("agentId", agentId).put("connected", true)).status()).isEqualTo(204);
    Resp r = c.http.get("/api/v1/relay/agents/" + agentId + "/replicas", us);
    assertThat(r.status()).isEqualTo(200);
    JsonArray replicas = r.json().getJsonArray("replicas");
    assertThat(replicas).hasSize(1);
    assertThat(replicas.getJsonObject(0).getString("replicaId")).isEqualTo("eu-1");
    assertThat(replicas.getJsonObject(0).getString("tlsFingerprint"))
        .isEqualTo(FP.toLowerCase());

    Resp bad = c.http.post("/api/v1/relay/register", eu, new JsonObject()
        .put("replicaId", "eu-9").put("publicUrl", "https://x").put("tlsFingerprint", "ab:cd"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().getString("message")).contains("tlsFingerprint");
  }

  @Test
  void aRegisteredRelayGetsAPeerTicketForOneTargetReplica() throws Exception {
    Resp r = peerTicket(us, "us-1", "eu", "eu-1");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    String ticket = r.json().getString("ticket");
    Instant expires = Instant.parse(r.json().getString("expiresAt"));
    assertThat(expires).isBetween(Instant.now().plus(PeerTickets.TTL).minusSeconds(30),
        Instant.now().plus(PeerTickets.TTL).plusSeconds(5));

    PeerTickets.Claims claims = PeerTickets.verify(keys, ticket, "eu", "eu-1");
    assertThat(claims.region()).isEqualTo("us");
    assertThat(claims.replicaId()).isEqualTo("us-1");
    assertThat(claims.caller()).isEqualTo("us/us-1");
    assertThat(claims.expiresAt()).isEqualTo(expires);

    // another replica does not accept it
    assertThatThrownBy(() -> PeerTickets.verify(keys, ticket, "eu", "eu-2"))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.reason()).isEqualTo(TicketException.Reason.WRONG_AUDIENCE));
    // it is not a connection ticket, and a connection ticket is not a peer ticket
    assertThatThrownBy(() -> keys.verify(ticket))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.reason()).isEqualTo(TicketException.Reason.MALFORMED));
    String conn = c.http.post("/api/v1/tickets", alice,
        new JsonObject().put("workspace", "dev").put("port", 22)).json().getString("ticket");
    assertThatThrownBy(() -> PeerTickets.verify(keys, conn, "eu", "eu-1"))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.getMessage()).contains("expected " + PeerTickets.TYPE));
    // expired, judged by the verifier's clock
    TicketVerifier later = new TicketVerifier(TicketVerifier.fromControlPlane(c.server.url()),
        "eu", java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofMinutes(10)),
        TicketVerifier.DEFAULT_SKEW, TicketVerifier.DEFAULT_MIN_REFRESH);
    assertThatThrownBy(() -> PeerTickets.verify(later, ticket, "eu", "eu-1"))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.reason()).isEqualTo(TicketException.Reason.EXPIRED));
  }

  @Test
  void peerTicketsNeedARegisteredCallerAndTarget() {
    Resp caller = peerTicket(us, "us-7", "eu", "eu-1");
    assertThat(caller.status()).isEqualTo(404);
    assertThat(caller.json().getString("code")).isEqualTo("replica_not_registered");
    assertThat(caller.json().getString("message")).contains("'us-7'").contains("'us'");

    Resp target = peerTicket(us, "us-1", "eu", "eu-7");
    assertThat(target.status()).isEqualTo(404);
    assertThat(target.json().getString("code")).isEqualTo("replica_not_registered");
    assertThat(target.json().getString("message")).contains("target relay replica 'eu-7'");

    // the caller's region comes from its token: the us token cannot speak for eu-1
    Resp spoof = peerTicket(us, "eu-1", "us", "us-1");
    assertThat(spoof.status()).isEqualTo(404);

    Resp bad = c.http.post("/api/v1/relay/peer-ticket", us, new JsonObject()
        .put("replicaId", "us-1").put("targetRegion", "EU").put("targetReplicaId", "eu-1"));
    assertThat(bad.status()).isEqualTo(400);
  }

  @Test
  void deregisterForgetsTheReplicaAndItsPresence() {
    register(eu, "eu-drain", null);
    assertThat(c.http.post("/api/v1/relay/presence", eu, new JsonObject()
        .put("replicaId", "eu-drain").put("agentId", agentId).put("connected", true)).status())
        .isEqualTo(204);
    assertThat(c.query("SELECT count(*) FROM agent_presence WHERE replica_id = 'eu-drain'")
        .get(0).get(0)).isEqualTo(1L);
    Resp r = c.http.post("/api/v1/relay/deregister", eu,
        new JsonObject().put("replicaId", "eu-drain"));
    assertThat(r.status()).isEqualTo(204);
    assertThat(c.query("SELECT count(*) FROM relay_replicas WHERE replica_id = 'eu-drain'")
        .get(0).get(0)).isEqualTo(0L);
    assertThat(c.query("SELECT count(*) FROM agent_presence WHERE replica_id = 'eu-drain'")
        .get(0).get(0)).isEqualTo(0L);
    // idempotent (a drain may retry), and a region cannot deregister another region's replica
    assertThat(c.http.post("/api/v1/relay/deregister", eu,
        new JsonObject().put("replicaId", "eu-drain")).status()).isEqualTo(204);
    assertThat(c.http.post("/api/v1/relay/deregister", us,
        new JsonObject().put("replicaId", "eu-1")).status()).isEqualTo(204);
    assertThat(c.query("SELECT count(*) FROM relay_replicas WHERE replica_id = 'eu-1'")
        .get(0).get(0)).isEqualTo(1L);
  }

  @Test
  void connectionRecordsKeepVia() {
    Resp r = c.http.post("/api/v1/relay/connections", eu, new JsonObject().put("replicaId", "eu-1")
        .put("username", "alice").put("workspace", "alice/dev").put("agent", "main")
        .put("port", 22).put("startedAt", "2026-01-01T00:00:00Z").put("via", "peer us/us-1"));
    assertThat(r.status()).isEqualTo(201);
    long id = r.json().getLong("id");
    JsonArray list = c.http.get("/api/v1/connections", admin).json().getJsonArray("connections");
    JsonObject rec = list.stream().map(JsonObject.class::cast)
        .filter(j -> j.getLong("id") == id).findFirst().orElseThrow();
    assertThat(rec.getString("via")).isEqualTo("peer us/us-1");
  }
}
