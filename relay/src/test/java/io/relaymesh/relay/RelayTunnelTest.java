package io.relaymesh.relay;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.TestClient;
import io.relaymesh.relay.testing.Waits;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through a real relay: real control plane (embedded PostgreSQL), real relay (TLS on
 * 127.0.0.1:0), a test agent and test clients made of real tunnel sessions over TLS WebSockets,
 * and a TCP echo server inside the "workspace".
 */
@ExtendWith(SharedPostgres.class)
@Timeout(90)
class RelayTunnelTest {

  @TempDir
  static Path dir;
  static RelayFixture fx;
  static String alice;
  static String bob;
  static String aliceAgentToken;
  static TestAgent agent;
  /**
   * A plain-socket echo that half-closes after the client's EOF, like real servers; a Vert.x
   * {@code pipeTo} echo closes the whole socket at EOF and can drop the tail of a large echo.
   */
  static io.relaymesh.relay.testing.BlockingEcho echo;
  static int echoPort;

  @BeforeAll
  static void start() throws java.io.IOException {
    fx = new RelayFixture(dir);
    alice = fx.user("alice");
    bob = fx.user("bob");
    aliceAgentToken = fx.workspace(alice, "dev");
    fx.workspace(bob, "other");
    echo = new io.relaymesh.relay.testing.BlockingEcho();
    echoPort = echo.port();
    agent = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        aliceAgentToken));
    Waits.until("alice's agent registered on the relay", Duration.ofSeconds(20),
        () -> !fx.relay.agents().agentIds().isEmpty());
  }

  @AfterAll
  static void stop() {
    if (echo != null) {
      echo.close();
    }
    if (agent != null) {
      agent.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  private static TestClient client(String userToken, String workspace, int port) {
    String ticket = fx.ticket(userToken, workspace, port).getString("ticket");
    return await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(), ticket));
  }

  private static UpgradeRejectedException rejectedClient(String ticket) {
    Throwable e = failure(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        ticket));
    assertThat(e).isInstanceOf(UpgradeRejectedException.class);
    return (UpgradeRejectedException) e;
  }

  private static JsonObject body(UpgradeRejectedException e) {
    return new JsonObject(e.getBody());
  }

  private static StreamRefusedException refused(Future<Stream> open) {
    Throwable e = failure(open);
    assertThat(e).isInstanceOf(StreamRefusedException.class);
    return (StreamRefusedException) e;
  }

  @Test
  void tcpThroughRelayManyConcurrentStreamsByteExact() {
    TestClient c = client(alice, "dev", echoPort);
    try {
      Random random = new Random(42);
      List<byte[]> sent = new ArrayList<>();
      List<Future<Buffer>> received = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        byte[] data = new byte[(i % 4 == 0) ? 2 * 1024 * 1024 + i : 40_000 + 997 * i];
        random.nextBytes(data);
        sent.add(data);
        received.add(c.exchange(echoPort, data));
      }
      for (int i = 0; i < sent.size(); i++) {
        assertThat(await(received.get(i)).getBytes()).as("stream %d", i).isEqualTo(sent.get(i));
      }
      JsonObject meta = agent.openMetadata.get(agent.openMetadata.size() - 1);
      assertThat(meta.getString("user")).isEqualTo("alice");
      assertThat(meta.getString("connectionId")).isNotBlank();
      assertThat(meta.getString("clientAddress")).contains("127.0.0.1");
    } finally {
      c.close();
    }
  }

  @Test
  void connectionLogRecordsAConnectionWhenItOpensAndCompletesItWhenItCloses() {
    JsonObject t = fx.ticket(alice, "dev", echoPort);
    String ticketId = t.getString("ticketId");
    TestClient c = await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        t.getString("ticket")));
    byte[] data = new byte[123_457];
    new Random(7).nextBytes(data);
    long heldId;
    try {
      // a connection held open: its record is there before it ends (a relay killed now would
      // leave it, open), with no end yet
      await(c.openTcp(echoPort));
      JsonObject held = record(ticketId, j -> true);
      assertThat(held.getString("endedAt")).as("%s", held).isNull();
      assertThat(held.getString("closeReason")).isNull();
      assertThat(held.getString("key")).isNotBlank();
      heldId = held.getLong("id");
      assertThat(await(c.exchange(echoPort, data)).getBytes()).isEqualTo(data);
    } finally {
      c.close();
    }
    JsonObject r = record(ticketId, j -> j.getLong("id") != heldId
        && j.getString("endedAt") != null);
    assertThat(r.getString("username")).isEqualTo("alice");
    assertThat(r.getString("workspace")).isEqualTo("alice/dev");
    assertThat(r.getString("agent")).isEqualTo("main");
    assertThat(r.getInteger("port")).isEqualTo(echoPort);
    assertThat(r.getString("region")).isEqualTo(RelayFixture.REGION);
    assertThat(r.getString("replicaId")).isEqualTo(fx.relay.replicaId());
    assertThat(r.getLong("bytesIn")).isEqualTo(data.length);
    assertThat(r.getLong("bytesOut")).isEqualTo(data.length);
    assertThat(r.getString("closeReason")).isEqualTo("closed");
    // the held connection ended with the session: its record was completed in place
    JsonObject ended = record(ticketId, j -> j.getLong("id") == heldId
        && j.getString("endedAt") != null);
    assertThat(ended.getString("closeReason")).isNotNull();
    assertThat(records(ticketId)).as("one record per connection").hasSize(2);
    // the reporter's queue is on /metrics (relay.md, metrics.md), empty once all are stored
    Waits.until("no connection record pending", Duration.ofSeconds(20), () -> fx.relay.metrics()
        .metrics().scrape().contains("relaymesh_relay_connection_records_pending 0.0"));
  }

  /** The first record of {@code ticketId} that matches, waited for. */
  private static JsonObject record(String ticketId,
      java.util.function.Predicate<JsonObject> which) {
    JsonObject[] found = new JsonObject[1];
    Waits.until("connection record of ticket " + ticketId, Duration.ofSeconds(20), () -> {
      for (JsonObject j : records(ticketId)) {
        if (which.test(j)) {
          found[0] = j;
          return true;
        }
      }
      return false;
    });
    return found[0];
  }

  private static List<JsonObject> records(String ticketId) {
    Resp r = fx.control.http.get("/api/v1/connections?limit=500", fx.adminToken);
    List<JsonObject> out = new ArrayList<>();
    for (Object o : r.json().getJsonArray("connections")) {
      if (ticketId.equals(((JsonObject) o).getString("ticketId"))) {
        out.add((JsonObject) o);
      }
    }
    return out;
  }

  @Test
  void streamForAnotherPortIsUnauthorizedAndTheSessionStaysUsable() throws Exception {
    TestClient c = client(alice, "dev", echoPort);
    try {
      StreamRefusedException e = refused(c.openTcp(echoPort == 65535 ? 1 : echoPort + 1));
      assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
      assertThat(e.reason()).contains("ticket is for port " + echoPort);
      StreamRefusedException ssh = refused(c.session.open(WireSpec.KIND_SSH, "", Buffer.buffer()));
      assertThat(ssh.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
      StreamRefusedException remote = refused(c.session.open(WireSpec.KIND_TCP,
          "10.1.2.3:" + echoPort, Buffer.buffer()));
      assertThat(remote.code()).isEqualTo(ErrorCode.FORBIDDEN);
      byte[] data = "still usable".getBytes();
      assertThat(await(c.exchange(echoPort, data)).getBytes()).isEqualTo(data);
    } finally {
      c.close();
    }
  }

  @Test
  void aTicketNeverReachesAnotherUsersWorkspace() {
    // the control plane does not issue bob a ticket for alice's workspace
    Resp r = fx.control.http.post("/api/v1/tickets", bob,
        new JsonObject().put("workspace", "alice/dev").put("port", echoPort));
    assertThat(r.status()).isEqualTo(404);
    // bob's ticket for his own workspace reaches his agent only (not connected), never alice's
    TestClient c = client(bob, "other", echoPort);
    try {
      StreamRefusedException e = refused(c.openTcp(echoPort));
      assertThat(e.code()).isEqualTo(ErrorCode.UNREACHABLE);
      assertThat(e.reason()).isEqualTo(
          "agent 'main' of workspace 'bob/other' is not connected to any relay");
      // a per-stream ticket of alice's workspace on bob's session is refused
      String aliceTicket = fx.ticket(alice, "dev", echoPort).getString("ticket");
      StreamRefusedException s = refused(c.session.open(WireSpec.KIND_TCP,
          "127.0.0.1:" + echoPort, new JsonObject().put("ticket", aliceTicket).toBuffer()));
      assertThat(s.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
      assertThat(s.reason()).contains("alice/dev").contains("bob/other");
    } finally {
      c.close();
    }
  }

  @Test
  void perStreamTicketOpensAnotherPortOfTheSameWorkspace() throws Exception {
    NetServer second = fx.vertx.createNetServer().connectHandler(s -> s.pipeTo(s));
    int port2 = await(second.listen(0, "127.0.0.1")).actualPort();
    TestClient c = client(alice, "dev", echoPort);
    try {
      String t2 = fx.ticket(alice, "dev", port2).getString("ticket");
      Stream s = await(c.session.open(WireSpec.KIND_TCP, "127.0.0.1:" + port2,
          new JsonObject().put("ticket", t2).toBuffer()));
      s.reset(ErrorCode.CANCEL, "done");
      assertThat(s.id() % 2).isEqualTo(1);
    } finally {
      c.close();
      await(second.close());
    }
  }

  @Test
  void closedTargetPortPassesConnectRefusedThrough() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    TestClient c = client(alice, "dev", closed);
    try {
      StreamRefusedException e = refused(c.openTcp(closed));
      assertThat(e.code()).isEqualTo(ErrorCode.CONNECT_REFUSED);
      assertThat(e.reason()).isEqualTo("connection refused on 127.0.0.1:" + closed);
    } finally {
      c.close();
    }
  }

  @Test
  void badTicketsAreRefusedAtTheUpgradeWithTheReason() throws Exception {
    UpgradeRejectedException none = rejectedClient(null);
    assertThat(none.getStatus()).isEqualTo(401);
    assertThat(body(none).getString("code")).isEqualTo("unauthenticated");

    UpgradeRejectedException garbage = rejectedClient("not-a-ticket");
    assertThat(garbage.getStatus()).isEqualTo(401);
    assertThat(body(garbage).getString("code")).isEqualTo("ticket_malformed");

    // forged: signed with a key the control plane never published
    String good = fx.ticket(alice, "dev", echoPort).getString("ticket");
    JWTClaimsSet claims = SignedJWT.parse(good).getJWTClaimsSet();
    ECKey rogue = new ECKeyGenerator(Curve.P_256).keyID("rogue").generate();
    UpgradeRejectedException forged = rejectedClient(sign(claims, rogue));
    assertThat(forged.getStatus()).isEqualTo(401);
    assertThat(body(forged).getString("code")).isEqualTo("ticket_unknown_key");
    assertThat(body(forged).getString("message")).startsWith("ticket has an unknown signing key");

    // tampered: the real signature over other claims (port changed)
    String[] parts = good.split("\\.");
    JsonObject payload = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1])));
    payload.put("port", 1);
    String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
        .encodeToString(payload.encode().getBytes()) + "." + parts[2];
    UpgradeRejectedException bad = rejectedClient(tampered);
    assertThat(bad.getStatus()).isEqualTo(401);
    assertThat(body(bad).getString("code")).isEqualTo("ticket_bad_signature");

    // expired: signed with the control plane's real key, expired an hour ago
    ECKey real = realSigningKey(SignedJWT.parse(good).getHeader().getKeyID());
    JWTClaimsSet old = new JWTClaimsSet.Builder(claims)
        .issueTime(Date.from(Instant.now().minusSeconds(7200)))
        .notBeforeTime(Date.from(Instant.now().minusSeconds(7200)))
        .expirationTime(Date.from(Instant.now().minusSeconds(3600))).build();
    UpgradeRejectedException expired = rejectedClient(sign(old, real));
    assertThat(expired.getStatus()).isEqualTo(401);
    assertThat(body(expired).getString("code")).isEqualTo("ticket_expired");
    assertThat(body(expired).getString("message")).startsWith("ticket expired");

    // a ticket for the relays of another region
    Resp us = fx.control.http.post("/api/v1/tickets", alice, new JsonObject()
        .put("workspace", "dev").put("port", echoPort).put("region", "us"));
    assertThat(us.status()).as(us.toString()).isEqualTo(201);
    UpgradeRejectedException wrongRegion = rejectedClient(us.json().getString("ticket"));
    assertThat(wrongRegion.getStatus()).isEqualTo(401);
    assertThat(body(wrongRegion).getString("code")).isEqualTo("ticket_wrong_audience");
    assertThat(body(wrongRegion).getString("message"))
        .startsWith("ticket audience is not this relay");
  }

  private static String sign(JWTClaimsSet claims, ECKey key) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256)
        .keyID(key.getKeyID())
        .type(new com.nimbusds.jose.JOSEObjectType(io.relaymesh.control.tickets.TicketIssuer.TYPE))
        .build(), claims);
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  private static ECKey realSigningKey(String kid) throws Exception {
    Object jwk = fx.control.query("SELECT private_jwk FROM signing_keys WHERE kid = '"
        + kid.replace("'", "") + "'").get(0).get(0);
    return ECKey.parse(String.valueOf(jwk));
  }

  @Test
  void invalidAgentTokensAreRefusedWith401() {
    // a well-formed unknown token (answered by the control plane), a malformed one and a session
    // token (both refused before any control-plane call)
    for (String token : List.of("rma_" + "A".repeat(43), "rma_doesnotexist", "rms_x")) {
      Throwable e = failure(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
          token));
      assertThat(e).isInstanceOf(UpgradeRejectedException.class);
      UpgradeRejectedException u = (UpgradeRejectedException) e;
      assertThat(u.getStatus()).isEqualTo(401);
      assertThat(body(u).getString("code")).isEqualTo("agent_token_invalid");
    }
  }

  @Test
  void revokedAgentTokenStopsWorkingWithinTheCacheTtl() {
    String token = fx.workspace(alice, "tmp");
    TestAgent tmp = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        token));
    try {
      Resp del = fx.control.http.delete("/api/v1/workspaces/alice/tmp", alice);
      assertThat(del.status()).isEqualTo(204);
      // the open tunnel is closed by the relay's periodic re-check
      await(tmp.session.closeFuture());
      // and new tunnels with the token are refused once the cached answer expired
      Waits.until("revoked agent token refused", Duration.ofSeconds(20), () -> {
        Future<TestAgent> f = TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
            token);
        try {
          await(f).close();
          return false;
        } catch (UpgradeRejectedException e) {
          assertThat(e.getStatus()).isEqualTo(401);
          return true;
        }
      });
    } finally {
      tmp.close();
    }
  }

  @Test
  void presenceOfTheAgentIsVisibleInTheControlPlane() {
    Waits.until("alice/dev's agent connected via this relay", Duration.ofSeconds(20), () -> {
      Resp r = fx.control.http.get("/api/v1/workspaces/alice/dev", alice);
      JsonObject a = r.json().getJsonArray("agents").getJsonObject(0);
      JsonArray relays = a.getJsonArray("relays");
      return a.getBoolean("connected") && relays.size() == 1
          && fx.relay.replicaId().equals(relays.getJsonObject(0).getString("replicaId"));
    });
    Resp other = fx.control.http.get("/api/v1/workspaces/bob/other", bob);
    assertThat(other.json().getJsonArray("agents").getJsonObject(0).getBoolean("connected"))
        .isFalse();
  }

  @Test
  void registrationAndHeartbeatsAreVisibleInTheControlPlane() {
    await(fx.relay.firstRegistration());
    String[] firstBeat = new String[1];
    Waits.until("replica listed and heartbeating", Duration.ofSeconds(20), () -> {
      Resp r = fx.control.http.get("/api/v1/relays", alice);
      for (Object o : r.json().getJsonArray("regions")) {
        JsonObject region = (JsonObject) o;
        if (!RelayFixture.REGION.equals(region.getString("region"))) {
          continue;
        }
        for (Object x : region.getJsonArray("replicas")) {
          JsonObject rep = (JsonObject) x;
          if (fx.relay.replicaId().equals(rep.getString("replicaId"))) {
            assertThat(rep.getString("publicUrl")).isEqualTo(fx.relay.url());
            assertThat(rep.getBoolean("healthy")).isTrue();
            if (firstBeat[0] == null) {
              firstBeat[0] = rep.getString("lastHeartbeatAt");
            }
            return !rep.getString("lastHeartbeatAt").equals(firstBeat[0]);
          }
        }
      }
      return false;
    });
  }

  @Test
  void forgottenReplicaRegistersAgainAndReportsItsAgentsAgain() {
    await(fx.relay.firstRegistration());
    Waits.until("alice/dev connected via this relay", Duration.ofSeconds(20), this::aliceOnRelay);
    String replica = fx.relay.replicaId();
    Object before = fx.control.query("SELECT registered_at FROM relay_replicas WHERE replica_id = '"
        + replica + "'").get(0).get(0);
    // the control plane forgets the replica (and, by cascade, the presence it reported)
    fx.control.sql("DELETE FROM relay_replicas WHERE replica_id = '" + replica + "'");
    // the next heartbeat gets 404 replica_not_registered: the relay registers again and
    // reports its agents again
    Waits.until("replica registered again with alice/dev's agent", Duration.ofSeconds(20), () -> {
      List<List<Object>> rows = fx.control.query(
          "SELECT registered_at FROM relay_replicas WHERE replica_id = '" + replica + "'");
      return !rows.isEmpty() && !rows.get(0).get(0).equals(before) && aliceOnRelay();
    });
  }

  private boolean aliceOnRelay() {
    JsonObject a = fx.control.http.get("/api/v1/workspaces/alice/dev", alice).json()
        .getJsonArray("agents").getJsonObject(0);
    JsonArray relays = a.getJsonArray("relays");
    return a.getBoolean("connected") && relays.size() == 1
        && fx.relay.replicaId().equals(relays.getJsonObject(0).getString("replicaId"));
  }
}
