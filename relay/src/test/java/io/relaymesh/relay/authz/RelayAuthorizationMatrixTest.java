package io.relaymesh.relay.authz;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.apps.AppAuth;
import io.relaymesh.relay.authz.AuthzFixture.Outcome;
import io.relaymesh.relay.peer.PeerEndpoint;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.TestClient;
import io.relaymesh.relay.testing.Waits;
import io.relaymesh.relay.tunnel.AgentEndpoint;
import io.relaymesh.relay.tunnel.ClientEndpoint;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream.Builder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The authorization matrix at the relay (issue 9): every entry point of relay A against every
 * kind of bad credential, end to end on a real control plane, real relays and a real agent
 * ({@link AuthzFixture}). Each cell asserts the answer (the HTTP status and JSON {@code code} of
 * a refused upgrade or app request, or the {@code OPEN_ERR} code of a refused stream), that
 * nothing was forwarded (the agent saw no OPEN, the TCP echo and the HTTP app behind it no
 * connection or request), and that the relay logged the refusal in exactly one line that holds
 * none of the presented credentials ({@link LogCapture}). The first column presents a genuine
 * credential and must get through (and be forwarded where the entry point forwards), so that the
 * harness is shown able to see a forward.
 *
 * <p>Entry points: {@link AgentEndpoint agent tunnel} (agent token in the upgrade),
 * {@link ClientEndpoint client session} (ticket in the upgrade), stream open inside a client
 * session (per-stream ticket in the OPEN metadata, on a session whose ticket is for another port
 * of the same workspace), {@link PeerEndpoint peer session} (peer ticket in the upgrade), app
 * request (app cookie, session token; alice's app is shared at the default level, owner only).
 *
 * <p>Credentials: VALID; NONE; GARBAGE (not a credential at all); EXPIRED (genuine, signed with
 * the control plane's real key, expired an hour or more ago); FORGED (right shape and claims,
 * signed with a rogue key that claims the real key's id); WRONG_AUDIENCE (genuine, for another
 * region, another replica or another app); REVOKED (deleted workspace, revoked relay token,
 * revoked share); OTHER_USER (bob's credential on alice's workspace or app); AGENT_AS_USER (an
 * agent token where a user credential is expected); CROSS (the other side of the user/relay
 * divide: a user's credential where a relay's or an agent's is expected, or a relay's where a
 * user's is).
 *
 * <p>Cells that do not apply, and why (each reported as an aborted test with this reason):
 * <table>
 *   <caption>Cells that do not apply</caption>
 *   <tr><th>entry point</th><th>credential</th><th>why</th></tr>
 *   <tr><td>agent tunnel</td><td>EXPIRED</td><td>agent tokens do not expire: they are opaque
 *       and end by revocation (REVOKED column); the relay caches the control plane's answer for
 *       the agent-auth TTL and re-checks open tunnels every half TTL</td></tr>
 *   <tr><td>agent tunnel</td><td>WRONG_AUDIENCE</td><td>agent tokens name no region or relay:
 *       every relay of the control plane serves every agent, and the workspace comes from the
 *       control plane's answer, not from the token</td></tr>
 *   <tr><td>agent tunnel</td><td>OTHER_USER</td><td>an agent token is the credential of one
 *       workspace's agent, not of a user: bob's token attaches bob's agent to bob's workspace,
 *       and can serve nothing else (users' credentials here: CROSS)</td></tr>
 *   <tr><td>agent tunnel</td><td>AGENT_AS_USER</td><td>this is the agent credential's own
 *       entry point (VALID)</td></tr>
 *   <tr><td>client session</td><td>REVOKED</td><td>tickets are verified offline (they must keep
 *       working while the control plane is down, for their lifetime), so a ticket of a workspace
 *       deleted since is not refused at the upgrade; its first OPEN is (stream open ×
 *       REVOKED)</td></tr>
 *   <tr><td>peer session</td><td>OTHER_USER</td><td>a peer session belongs to a relay, not to
 *       a user; every stream on it is authorized again with the client's own ticket
 *       (RelayForwardingTest)</td></tr>
 * </table>
 */
@ExtendWith(SharedPostgres.class)
class RelayAuthorizationMatrixTest {

  /** Time for late log lines or a late forward to show up before a cell is judged. */
  private static final long SETTLE_MS = 150;

  @TempDir
  static Path dir;
  static AuthzFixture fx;
  static LogCapture logs;
  /** Alice's client session on A whose ticket is for port 1 of alice/dev (stream cells). */
  static TestClient session;

  @BeforeAll
  @Timeout(120)
  static void start() {
    fx = AuthzFixture.start(dir);
    session = await(TestClient.connect(fx.vertx, fx.a.port(), fx.a.caCertPem(),
        fx.ticket(fx.alice, "dev", 1, null)));
    logs = new LogCapture();
  }

  @AfterAll
  @Timeout(120)
  static void stop() {
    if (logs != null) {
      logs.close();
    }
    if (session != null) {
      session.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  enum Entry { AGENT_TUNNEL, CLIENT_SESSION, STREAM_OPEN, PEER_SESSION, APP_REQUEST }

  enum Credential {
    VALID, NONE, GARBAGE, EXPIRED, FORGED, WRONG_AUDIENCE, REVOKED, OTHER_USER, AGENT_AS_USER,
    CROSS
  }

  /** One probe, ready to run: setup done (not logged into the cell), the request to make. */
  interface Act extends AutoCloseable {
    Outcome run();

    /** Checks after the request that depend on the setup (nothing by default). */
    default void alsoNothingForwarded() {}

    @Override
    default void close() {}
  }

  /** Sets a probe up; adds every credential it will present to {@code secrets}. */
  interface Probe {
    Act prepare(List<String> secrets);
  }

  /**
   * One cell of the matrix.
   *
   * @param expected the answer, or null when the cell does not apply
   * @param note what is presented, or why the cell does not apply
   */
  record Cell(Entry entry, Credential credential, String expected, String note, Probe probe) {
    @Override
    public String toString() {
      return entry + " x " + credential + (expected == null ? " (n/a)"
          : " -> " + expected + " [" + note + "]");
    }
  }

  static java.util.stream.Stream<Cell> matrix() {
    Builder<Cell> m = java.util.stream.Stream.builder();
    agentTunnel(m);
    clientSession(m);
    streamOpen(m);
    peerSession(m);
    appRequest(m);
    return m.build();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  @Timeout(90)
  void cell(Cell cell) throws Exception {
    Assumptions.assumeTrue(cell.expected() != null, () -> "does not apply: " + cell.note());
    List<String> secrets = new ArrayList<>();
    try (Act act = cell.probe().prepare(secrets)) {
      int echo = fx.echoConnections.get();
      int requests = fx.appRequests.get();
      int opens = fx.agent.openMetadata.size();
      int sessions = fx.a.sessionCount();
      logs.clear();
      Outcome out = act.run();
      assertThat(out.answer()).as("answer of %s: %s", cell, out.detail())
          .isEqualTo(cell.expected());
      if (cell.credential() == Credential.VALID) {
        if (cell.entry() == Entry.STREAM_OPEN) {
          Waits.until("the echo behind the agent reached", Duration.ofSeconds(10),
              () -> fx.echoConnections.get() > echo);
          assertThat(fx.agent.openMetadata).hasSize(opens + 1);
        } else if (cell.entry() == Entry.APP_REQUEST) {
          assertThat(fx.appRequests.get()).isEqualTo(requests + 1);
        }
        // the next cell counts lines: this one's session and stream must have closed first
        Waits.until("the probe's session closed on relay A", Duration.ofSeconds(10),
            () -> fx.a.sessionCount() == sessions);
        if (cell.entry() == Entry.STREAM_OPEN || cell.entry() == Entry.APP_REQUEST) {
          Waits.until("the probe's stream closed on relay A", Duration.ofSeconds(10),
              () -> logs.lines().stream().anyMatch(l -> l.contains("stream closed")));
        }
        settle();
        return;
      }
      settle();
      assertThat(fx.agent.openMetadata).as("OPENs the agent saw").hasSize(opens);
      assertThat(fx.echoConnections.get()).as("connections the echo saw").isEqualTo(echo);
      assertThat(fx.appRequests.get()).as("requests the app saw").isEqualTo(requests);
      act.alsoNothingForwarded();
      List<String> lines = logs.lines();
      // the relay's reports to the control plane (presence, heartbeats) run in the background
      // and name no request: not this refusal's lines, but checked for credentials all the same
      assertThat(lines.stream().filter(l -> !l.split(" ", 3)[1]
          .startsWith(LogCapture.RELAY_LOGGER + ".control.")))
          .as("relay log lines of this refusal").hasSize(1);
      for (String secret : secrets) {
        String tail = secret.substring(Math.max(0, secret.length() - 16));
        assertThat(lines).as("relay log lines holding a presented credential")
            .noneMatch(l -> l.contains(secret) || l.contains(tail));
      }
    }
  }

  // ---- agent tunnel --------------------------------------------------------------------------

  private static void agentTunnel(Builder<Cell> m) {
    Entry e = Entry.AGENT_TUNNEL;
    String path = AgentEndpoint.PATH;
    m.add(new Cell(e, Credential.VALID, "101", "agent token of a fresh workspace",
        upgrade(path, () -> fx.control.createWorkspace(fx.alice, "spare")
            .getString("agentToken"))));
    m.add(new Cell(e, Credential.NONE, "401 unauthenticated", "no Authorization",
        upgrade(path, () -> null)));
    m.add(new Cell(e, Credential.GARBAGE, "401 agent_token_invalid", "rma_garbage",
        upgrade(path, () -> "rma_garbage")));
    m.add(na(e, Credential.EXPIRED, "agent tokens do not expire (opaque; revoked instead)"));
    m.add(new Cell(e, Credential.FORGED, "401 agent_token_invalid",
        "well-formed agent token the control plane never issued",
        upgrade(path, () -> "rma_" + "Q".repeat(43))));
    m.add(na(e, Credential.WRONG_AUDIENCE, "agent tokens name no region, relay or audience"));
    m.add(new Cell(e, Credential.REVOKED, "401 agent_token_invalid",
        "agent token of a deleted workspace", upgrade(path, () -> {
          String token = fx.control.createWorkspace(fx.alice, "gone").getString("agentToken");
          Resp del = fx.control.http.delete("/api/v1/workspaces/alice/gone", fx.alice);
          assertThat(del.status()).as(del.toString()).isEqualTo(204);
          return token;
        })));
    m.add(na(e, Credential.OTHER_USER, "an agent token belongs to a workspace's agent, not to a"
        + " user; users' credentials here are the CROSS cell"));
    m.add(na(e, Credential.AGENT_AS_USER, "the agent credential's own entry point (VALID)"));
    m.add(new Cell(e, Credential.CROSS, "401 agent_token_invalid",
        "alice's session token as an agent token", upgrade(path, () -> fx.alice)));
  }

  // ---- client session ------------------------------------------------------------------------

  private static void clientSession(Builder<Cell> m) {
    Entry e = Entry.CLIENT_SESSION;
    String path = ClientEndpoint.PATH;
    m.add(new Cell(e, Credential.VALID, "101", "alice's ticket for alice/dev",
        upgrade(path, () -> fx.ticket(fx.alice, "dev", fx.echoPort, null))));
    m.add(new Cell(e, Credential.NONE, "401 unauthenticated", "no Authorization",
        upgrade(path, () -> null)));
    m.add(new Cell(e, Credential.GARBAGE, "401 ticket_malformed", "not-a-ticket",
        upgrade(path, () -> "not-a-ticket")));
    m.add(new Cell(e, Credential.EXPIRED, "401 ticket_expired",
        "genuine ticket, real key, expired 2 h ago", upgrade(path,
            () -> AuthzFixture.resigned(fx.ticket(fx.alice, "dev", fx.echoPort, null),
                fx.realKey(), Duration.ofHours(-2)))));
    m.add(new Cell(e, Credential.FORGED, "401 ticket_bad_signature",
        "ticket signed by a rogue key claiming the real kid", upgrade(path,
            () -> AuthzFixture.resigned(fx.ticket(fx.alice, "dev", fx.echoPort, null),
                fx.rogueKey(), Duration.ZERO))));
    m.add(new Cell(e, Credential.WRONG_AUDIENCE, "401 ticket_wrong_audience",
        "ticket for the relays of region us", upgrade(path,
            () -> fx.ticket(fx.alice, "dev", fx.echoPort, "us"))));
    m.add(na(e, Credential.REVOKED, "tickets are verified offline (valid for their lifetime"
        + " while the control plane is down); a deleted workspace's ticket is refused at its"
        + " first OPEN (STREAM_OPEN x REVOKED)"));
    m.add(new Cell(e, Credential.OTHER_USER, "401 ticket_bad_signature",
        "bob is refused a ticket for alice/dev; his own ticket edited to name alice/dev",
        upgrade(path, () -> {
          Resp r = fx.control.http.post("/api/v1/tickets", fx.bob, new JsonObject()
              .put("workspace", "alice/dev").put("port", fx.echoPort));
          assertThat(r.status()).as(r.toString()).isEqualTo(404);
          return retargeted(fx.ticket(fx.bob, "other", fx.echoPort, null),
              fx.ticket(fx.alice, "dev", fx.echoPort, null));
        })));
    m.add(new Cell(e, Credential.AGENT_AS_USER, "401 ticket_malformed",
        "alice/dev's agent token as the ticket", upgrade(path, () -> fx.aliceAgentToken)));
    m.add(new Cell(e, Credential.CROSS, "401 ticket_malformed",
        "a genuine peer ticket (relay credential) as the ticket",
        upgrade(path, () -> fx.peerTicket("eu", "eu-1"))));
  }

  /**
   * {@code own} (a genuine ticket) with its workspace and agent claims replaced by those of
   * {@code target}, keeping {@code own}'s signature: what a user would try to reach another
   * user's workspace with.
   */
  static String retargeted(String own, String target) {
    String[] o = own.split("\\.");
    JsonObject claims = payload(o[1]);
    JsonObject t = payload(target.split("\\.")[1]);
    for (String k : List.of("workspace", "workspace_id", "agent", "agent_id")) {
      claims.put(k, t.getValue(k));
    }
    return o[0] + "." + Base64.getUrlEncoder().withoutPadding()
        .encodeToString(claims.encode().getBytes(StandardCharsets.UTF_8)) + "." + o[2];
  }

  private static JsonObject payload(String part) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(part),
        StandardCharsets.UTF_8));
  }

  // ---- stream open ---------------------------------------------------------------------------

  private static void streamOpen(Builder<Cell> m) {
    Entry e = Entry.STREAM_OPEN;
    m.add(new Cell(e, Credential.VALID, "OPEN_OK", "per-stream ticket for the echo's port",
        open(() -> fx.ticket(fx.alice, "dev", fx.echoPort, null))));
    m.add(new Cell(e, Credential.NONE, "OPEN_ERR UNAUTHORIZED",
        "no per-stream ticket; the session's is for port 1", open(() -> null)));
    m.add(new Cell(e, Credential.GARBAGE, "OPEN_ERR UNAUTHORIZED", "\"ticket\": not-a-ticket",
        open(() -> "not-a-ticket")));
    m.add(new Cell(e, Credential.EXPIRED, "OPEN_ERR UNAUTHORIZED",
        "per-stream ticket, real key, expired 2 h ago", open(() -> AuthzFixture.resigned(
            fx.ticket(fx.alice, "dev", fx.echoPort, null), fx.realKey(), Duration.ofHours(-2)))));
    m.add(new Cell(e, Credential.FORGED, "OPEN_ERR UNAUTHORIZED",
        "per-stream ticket signed by a rogue key claiming the real kid", open(() ->
            AuthzFixture.resigned(fx.ticket(fx.alice, "dev", fx.echoPort, null), fx.rogueKey(),
                Duration.ZERO))));
    m.add(new Cell(e, Credential.WRONG_AUDIENCE, "OPEN_ERR UNAUTHORIZED",
        "per-stream ticket for region us", open(() -> fx.ticket(fx.alice, "dev", fx.echoPort,
            "us"))));
    m.add(new Cell(e, Credential.REVOKED, "OPEN_ERR UNREACHABLE",
        "session ticket of a workspace deleted after the session opened",
        RelayAuthorizationMatrixTest::deletedWorkspaceSession));
    m.add(new Cell(e, Credential.OTHER_USER, "OPEN_ERR UNAUTHORIZED",
        "bob's ticket for bob/other as the per-stream ticket on alice's session",
        open(() -> fx.ticket(fx.bob, "other", fx.echoPort, null))));
    m.add(new Cell(e, Credential.AGENT_AS_USER, "OPEN_ERR UNAUTHORIZED",
        "alice/dev's agent token as the per-stream ticket", open(() -> fx.aliceAgentToken)));
    m.add(new Cell(e, Credential.CROSS, "OPEN_ERR UNAUTHORIZED",
        "a genuine peer ticket as the per-stream ticket",
        open(() -> fx.peerTicket("eu", "eu-1"))));
  }

  /** A TCP OPEN to the echo on {@code client} with {@code ticket} in its metadata (or none). */
  static Outcome openEcho(TestClient client, String ticket) {
    Buffer meta = ticket == null ? Buffer.buffer()
        : new JsonObject().put("ticket", ticket).toBuffer();
    try {
      Stream s = await(client.session.open(WireSpec.KIND_TCP, "127.0.0.1:" + fx.echoPort,
          meta));
      // a round trip through the echo before the reset: reset at once, the agent's bridge could
      // abort its socket (RST) before the echo server accepted it, and the echo never count it
      io.vertx.core.Promise<Void> echoed = io.vertx.core.Promise.promise();
      s.session().context().runOnContext(v -> {
        s.handler(b -> echoed.tryComplete());
        s.write(Buffer.buffer("matrix probe"));
      });
      try {
        await(echoed.future(), 10);
      } catch (RuntimeException | AssertionError noEcho) {
        // judged by the cell's own checks (echo connections, OPENs the agent saw)
      }
      s.session().context().runOnContext(v -> s.reset(ErrorCode.CANCEL, "matrix probe done"));
      return new Outcome("OPEN_OK", "stream " + s.id());
    } catch (StreamRefusedException e) {
      return new Outcome("OPEN_ERR " + e.code(), e.reason());
    }
  }

  private static Probe open(Supplier<String> ticket) {
    return secrets -> {
      String t = ticket.get();
      if (t != null) {
        secrets.add(t);
      }
      return () -> openEcho(session, t);
    };
  }

  /**
   * Alice's workspace {@code revoked} with its agent on A and a client session on its ticket;
   * then the workspace is deleted, and the relay closes the agent's tunnel. The OPEN is the act.
   */
  private static Act deletedWorkspaceSession(List<String> secrets) {
    String token = fx.control.createWorkspace(fx.alice, "revoked").getString("agentToken");
    secrets.add(token);
    TestAgent agent = await(TestAgent.connect(fx.vertx, fx.a.port(), fx.a.caCertPem(), token));
    TestClient client = null;
    try {
      Waits.until("alice/revoked's agent reported on eu/eu-1", Duration.ofSeconds(20),
          () -> fx.relaysOf(fx.alice, "alice/revoked").equals(List.of("eu/eu-1")));
      String ticket = fx.ticket(fx.alice, "revoked", fx.echoPort, null);
      secrets.add(ticket);
      client = await(TestClient.connect(fx.vertx, fx.a.port(), fx.a.caCertPem(), ticket));
      Resp del = fx.control.http.delete("/api/v1/workspaces/alice/revoked", fx.alice);
      assertThat(del.status()).as(del.toString()).isEqualTo(204);
      await(agent.session.closeFuture()); // the relay's re-check closes the revoked tunnel
      Waits.until("the revoked agent gone from relay A", Duration.ofSeconds(10),
          () -> fx.a.agents().agentIds().size() == 1);
      settle(); // the lines of the tunnel's close are not the cell's
    } catch (RuntimeException | AssertionError e) {
      if (client != null) {
        client.close();
      }
      agent.close();
      throw e;
    }
    TestClient c = client;
    return new Act() {
      @Override
      public Outcome run() {
        return openEcho(c, null);
      }

      @Override
      public void alsoNothingForwarded() {
        assertThat(agent.openMetadata).as("OPENs the revoked agent saw").isEmpty();
      }

      @Override
      public void close() {
        c.close();
        agent.close();
      }
    };
  }

  // ---- peer session --------------------------------------------------------------------------

  private static void peerSession(Builder<Cell> m) {
    Entry e = Entry.PEER_SESSION;
    String path = PeerEndpoint.PATH;
    m.add(new Cell(e, Credential.VALID, "101", "B's genuine peer ticket for eu/eu-1",
        upgrade(path, () -> fx.peerTicket("eu", "eu-1"))));
    m.add(new Cell(e, Credential.NONE, "401 unauthenticated", "no Authorization",
        upgrade(path, () -> null)));
    m.add(new Cell(e, Credential.GARBAGE, "401 peer_ticket_malformed", "not-a-ticket",
        upgrade(path, () -> "not-a-ticket")));
    m.add(new Cell(e, Credential.EXPIRED, "401 peer_ticket_expired",
        "peer ticket, real key, expired about 2 h ago",
        upgrade(path, () -> AuthzFixture.peerTicket(fx.realKey(),
            Instant.now().minus(Duration.ofHours(2))))));
    m.add(new Cell(e, Credential.FORGED, "401 peer_ticket_bad_signature",
        "peer ticket signed by a rogue key claiming the real kid",
        upgrade(path, () -> AuthzFixture.peerTicket(fx.rogueKey(), Instant.now()))));
    m.add(new Cell(e, Credential.WRONG_AUDIENCE, "401 peer_ticket_wrong_audience",
        "B's genuine peer ticket for replica us/us-1", upgrade(path,
            () -> fx.peerTicket("us", "us-1"))));
    m.add(new Cell(e, Credential.REVOKED, "401 peer_ticket_malformed",
        "a revoked relay token of region us (the control plane refuses it a peer ticket)",
        upgrade(path, () -> {
          Resp made = fx.control.http.post("/api/v1/relays/us/tokens", fx.admin,
              new JsonObject());
          assertThat(made.status()).as(made.toString()).isEqualTo(201);
          String token = made.json().getString("token");
          Resp del = fx.control.http.delete("/api/v1/relays/us/tokens/"
              + made.json().getValue("id"), fx.admin);
          assertThat(del.status()).as(del.toString()).isEqualTo(204);
          Resp refused = fx.control.http.post("/api/v1/relay/peer-ticket", token,
              new JsonObject().put("replicaId", "us-1").put("targetRegion", "eu")
                  .put("targetReplicaId", "eu-1"));
          assertThat(refused.status()).as(refused.toString()).isEqualTo(401);
          return token;
        })));
    m.add(na(e, Credential.OTHER_USER, "a peer session belongs to a relay, not a user; each"
        + " stream on it is authorized again with the client's own ticket"));
    m.add(new Cell(e, Credential.AGENT_AS_USER, "401 peer_ticket_malformed",
        "alice/dev's agent token as the peer ticket", upgrade(path, () -> fx.aliceAgentToken)));
    m.add(new Cell(e, Credential.CROSS, "401 peer_ticket_malformed",
        "alice's genuine client ticket as the peer ticket",
        upgrade(path, () -> fx.ticket(fx.alice, "dev", fx.echoPort, null))));
  }

  // ---- app request ---------------------------------------------------------------------------

  private static void appRequest(Builder<Cell> m) {
    Entry e = Entry.APP_REQUEST;
    Duration minute = Duration.ofMinutes(1);
    m.add(new Cell(e, Credential.VALID, "200", "alice's session token",
        app(() -> Map.of("Authorization", "Bearer " + fx.alice))));
    m.add(new Cell(e, Credential.NONE, "401 unauthenticated", "no cookie, no token",
        app(Map::of)));
    m.add(new Cell(e, Credential.GARBAGE, "401 unauthenticated", "app cookie not-a-token",
        app(() -> cookie("not-a-token"))));
    m.add(new Cell(e, Credential.EXPIRED, "401 unauthenticated",
        "app cookie, real key, expired, of a login session that expired too", app(() -> {
          String s = fx.control.login("alice", Control.PASSWORD);
          fx.control.sql("UPDATE sessions SET expires_at = now() - interval '1 hour' WHERE id = "
              + fx.session(s)[0]);
          return cookie(fx.appToken(fx.realKey(), "alice", s, fx.appLabel(),
              Instant.now().minus(Duration.ofMinutes(2)), minute));
        })));
    m.add(new Cell(e, Credential.FORGED, "401 unauthenticated",
        "app cookie signed by a rogue key claiming the real kid", app(() -> cookie(
            fx.appToken(fx.rogueKey(), "alice", fx.alice, fx.appLabel(), Instant.now(),
                minute)))));
    m.add(new Cell(e, Credential.WRONG_AUDIENCE, "401 unauthenticated",
        "alice's genuine app cookie for another app (port 1 of alice/dev)", app(() -> cookie(
            fx.appToken(fx.realKey(), "alice", fx.alice, AuthzFixture.label(1, "dev", "alice"),
                Instant.now(), minute)))));
    m.add(new Cell(e, Credential.REVOKED, "401 unauthenticated",
        "bob's app cookie from when alice shared the app with all users; the share revoked and"
            + " the cookie due for refresh", app(() -> {
          String share = "/api/v1/workspaces/alice/dev/agents/main/ports/" + fx.appPort
              + "/share";
          Resp shared = fx.control.http.call("PUT", share, fx.alice,
              new JsonObject().put("level", "authenticated"));
          assertThat(shared.status()).as(shared.toString()).isEqualTo(200);
          String token = fx.appToken(fx.realKey(), "bob", fx.bob, fx.appLabel(),
              Instant.now().minus(Duration.ofMinutes(2)), minute);
          Resp revoked = fx.control.http.delete(share, fx.alice);
          assertThat(revoked.status()).as(revoked.toString()).isIn(200, 204);
          return cookie(token);
        })));
    m.add(new Cell(e, Credential.OTHER_USER, "401 unauthenticated",
        "bob's genuine app cookie (for his own app) on alice's app", app(() -> cookie(
            fx.appToken(fx.realKey(), "bob", fx.bob, AuthzFixture.label(fx.appPort, "other",
                "bob"), Instant.now(), minute)))));
    m.add(new Cell(e, Credential.AGENT_AS_USER, "401 session_invalid",
        "alice/dev's agent token as Relaymesh-Session-Token",
        app(() -> Map.of("Relaymesh-Session-Token", fx.aliceAgentToken))));
    m.add(new Cell(e, Credential.CROSS, "401 session_invalid",
        "a relay token of region us as Relaymesh-Session-Token",
        app(() -> Map.of("Relaymesh-Session-Token", fx.usToken))));
  }

  /** The app cookie of alice's app holding {@code token}. */
  static Map<String, String> cookie(String token) {
    return Map.of("Cookie", AppAuth.cookieName(fx.appLabel() + "." + AuthzFixture.APPS_HOST)
        + "=" + token);
  }

  private static Probe app(Supplier<Map<String, String>> headers) {
    return secrets -> {
      Map<String, String> h = headers.get();
      for (String v : h.values()) {
        secrets.add(v.startsWith("Bearer ") ? v.substring(7)
            : v.startsWith(AppAuth.COOKIE_PREFIX) ? v.substring(v.indexOf('=') + 1) : v);
      }
      return () -> fx.appRequest(fx.appLabel(), h);
    };
  }

  // ---- shared --------------------------------------------------------------------------------

  private static Probe upgrade(String path, Supplier<String> bearer) {
    return secrets -> {
      String b = bearer.get();
      if (b != null && b.length() > 20) {
        secrets.add(b);
      }
      return () -> fx.upgrade(path, b);
    };
  }

  private static void settle() {
    try {
      Thread.sleep(SETTLE_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static Cell na(Entry e, Credential c, String why) {
    return new Cell(e, c, null, why, null);
  }
}
