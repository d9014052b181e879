package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import io.relaymesh.control.apps.AppTokens;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.HandoffStore;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.tickets.TicketVerifier;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workspace apps in the control plane (docs/apps.md): the share API and its policy (ownership,
 * maximum level, low ports, the DNS label limit), the admin settings, and the relay's app API
 * (resolve, authorize, handoff, refresh) with its refusals.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class AppsApiTest {

  static final String APPS_HOST = "apps.eu.example.com:8443";

  static Control c;
  static String admin;
  static String alice;
  static String bob;
  static String relay;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.start(Control.config(dir, SharedPostgres.url(SharedPostgres.newDatabase()))
        .withAppAllowedLowPorts(List.of("80")));
    admin = c.setupAdmin();
    alice = c.createUser(admin, "alice");
    bob = c.createUser(admin, "bob");
    relay = c.createRegion(admin, "eu");
    assertThat(c.http.post("/api/v1/relay/register", relay, new JsonObject()
        .put("replicaId", "eu-1").put("publicUrl", "https://eu.example.com")
        .put("appsHost", APPS_HOST)).status()).isEqualTo(200);
    // a relay that stopped sending heartbeats contributes no URL
    String us = c.createRegion(admin, "us");
    assertThat(c.http.post("/api/v1/relay/register", us, new JsonObject()
        .put("replicaId", "us-1").put("publicUrl", "https://us.example.com")
        .put("appsHost", "apps.us.example.com")).status()).isEqualTo(200);
    c.sql("UPDATE relay_replicas SET last_heartbeat_at = now() - interval '1 hour' "
        + "WHERE replica_id = 'us-1'");
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static String sharePath(String owner, String ws, String agent, Object port) {
    return "/api/v1/workspaces/" + owner + "/" + ws + "/agents/" + agent + "/ports/" + port
        + "/share";
  }

  static Resp share(String token, String owner, String ws, int port, String level) {
    return c.http.call("PUT", sharePath(owner, ws, "main", port), token,
        new JsonObject().put("level", level));
  }

  static Resp relayCall(String what, JsonObject body) {
    return c.http.post("/api/v1/relay/apps/" + what, relay, body);
  }

  static Resp authorize(String app, String sessionToken) {
    return relayCall("authorize", new JsonObject().put("app", app)
        .put("sessionToken", sessionToken));
  }

  static Resp refresh(String app, String appToken) {
    return relayCall("refresh", new JsonObject().put("app", app).put("appToken", appToken));
  }

  static Resp handoff(String app, String code) {
    return relayCall("handoff", new JsonObject().put("app", app).put("code", code));
  }

  /** Session id and user id of a session token. */
  static long[] session(String token) {
    List<Object> row = c.query("SELECT id, user_id FROM sessions WHERE token_hash = decode('"
        + HexFormat.of().formatHex(Tokens.hash(token)) + "', 'hex')").get(0);
    return new long[] {(Long) row.get(0), (Long) row.get(1)};
  }

  static AppTokens.Claims verify(String token, String app) throws Exception {
    JWKSet keys = JWKSet.parse(c.http.get("/api/v1/keys", null).text());
    return AppTokens.verify(new TicketVerifier(() -> keys, null), token, app);
  }

  static void assertError(Resp r, int status, String code) {
    assertThat(r.status()).as(r.toString()).isEqualTo(status);
    assertThat(r.code()).as(r.toString()).isEqualTo(code);
    assertThat(r.json().getString("message")).isNotBlank();
  }

  @Test
  void ownerSharesListsChangesAndUnsharesAPort() {
    c.createWorkspace(alice, "crud");
    Resp r = share(alice, "alice", "crud", 8080, "authenticated");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    JsonObject s = r.json();
    assertThat(s.getString("workspace")).isEqualTo("alice/crud");
    assertThat(s.getString("agent")).isEqualTo("main");
    assertThat(s.getInteger("port")).isEqualTo(8080);
    assertThat(s.getBoolean("https")).isFalse();
    assertThat(s.getString("level")).isEqualTo("authenticated");
    assertThat(s.getString("app")).isEqualTo("8080--main--crud--alice");
    assertThat(s.getJsonArray("urls")).containsExactly(
        "https://8080--main--crud--alice." + APPS_HOST + "/");

    Resp changed = c.http.call("PUT", sharePath("alice", "crud", "main", 8080), alice,
        new JsonObject().put("level", "public").put("https", true));
    assertThat(changed.status()).as(changed.toString()).isEqualTo(200);
    assertThat(changed.json().getString("app")).isEqualTo("8080s--main--crud--alice");
    assertThat(changed.json().getString("level")).isEqualTo("public");

    JsonArray mine = c.http.get("/api/v1/shares", alice).json().getJsonArray("shares");
    assertThat(mine.stream().map(o -> ((JsonObject) o).getString("app")))
        .contains("8080s--main--crud--alice");
    assertThat(c.http.get("/api/v1/shares", bob).json().getJsonArray("shares").stream()
        .map(o -> ((JsonObject) o).getString("workspace"))).doesNotContain("alice/crud");

    assertThat(c.http.delete(sharePath("alice", "crud", "main", 8080), alice).status())
        .isEqualTo(204);
    assertThat(c.http.get("/api/v1/shares", alice).json().getJsonArray("shares").stream()
        .map(o -> ((JsonObject) o).getString("workspace"))).doesNotContain("alice/crud");
    assertThat(relayCall("resolve", new JsonObject().put("app", "8080--main--crud--alice"))
        .json().getString("level")).isEqualTo("owner");
  }

  @Test
  void anotherUserCannotShareOrUnshareMyPortsNorSeeThem() {
    c.createWorkspace(alice, "mine");
    assertThat(share(alice, "alice", "mine", 3000, "public").status()).isEqualTo(200);

    Resp put = share(bob, "alice", "mine", 3000, "owner");
    assertError(put, 404, "workspace_not_found");
    assertThat(put.json().getString("message")).isEqualTo("workspace 'alice/mine' not found");
    assertError(c.http.delete(sharePath("alice", "mine", "main", 3000), bob), 404,
        "workspace_not_found");
    // the admin manages relays and users, not other people's shares
    assertError(share(admin, "alice", "mine", 3000, "owner"), 404, "workspace_not_found");
    assertThat(c.query("SELECT level FROM port_shares WHERE port = 3000").get(0).get(0))
        .isEqualTo("public");

    Resp noAgent = c.http.call("PUT", sharePath("alice", "mine", "gpu", 3000), alice,
        new JsonObject().put("level", "owner"));
    assertError(noAgent, 404, "agent_not_found");
    assertThat(noAgent.json().getString("message"))
        .isEqualTo("agent 'gpu' of workspace 'alice/mine' not found");
    assertError(share(alice, "alice", "none", 3000, "owner"), 404, "workspace_not_found");
    assertError(share(alice, "alice", "mine", 3000, "everyone"), 400, "bad_request");
    assertError(c.http.call("PUT", sharePath("alice", "mine", "main", "x"), alice,
        new JsonObject().put("level", "owner")), 400, "bad_request");
    assertError(share(alice, "alice", "mine", 70000, "owner"), 400, "bad_request");
  }

  @Test
  void theAdminsMaximumLevelIsEnforcedAndLowersExistingShares() {
    c.createWorkspace(alice, "capped");
    assertThat(share(alice, "alice", "capped", 5000, "public").status()).isEqualTo(200);
    assertThat(c.http.get("/api/v1/settings", bob).json().getString("maxShareLevel"))
        .isEqualTo("public");
    try {
      assertError(c.http.call("PUT", "/api/v1/settings", bob,
          new JsonObject().put("maxShareLevel", "owner")), 403, "forbidden");
      assertError(c.http.call("PUT", "/api/v1/settings", admin,
          new JsonObject().put("maxShareLevel", "nobody")), 400, "bad_request");
      Resp set = c.http.call("PUT", "/api/v1/settings", admin,
          new JsonObject().put("maxShareLevel", "authenticated"));
      assertThat(set.status()).as(set.toString()).isEqualTo(200);
      assertThat(set.json().getString("maxShareLevel")).isEqualTo("authenticated");
      assertThat(set.json().getInteger("sharesLowered")).isGreaterThanOrEqualTo(1);
      assertThat(c.http.get("/api/v1/settings", alice).json().getString("maxShareLevel"))
          .isEqualTo("authenticated");

      Resp tooHigh = share(alice, "alice", "capped", 5001, "public");
      assertError(tooHigh, 400, "share_level_too_high");
      assertThat(tooHigh.json().getString("message")).isEqualTo("cannot share"
          + " 5001--main--capped--alice at level 'public': an admin has set the maximum share"
          + " level to 'authenticated'");
      assertThat(share(alice, "alice", "capped", 5001, "authenticated").status()).isEqualTo(200);
      // the public share made before is lowered, so anonymous visitors are locked out
      assertThat(relayCall("resolve", new JsonObject().put("app", "5000--main--capped--alice"))
          .json().getString("level")).isEqualTo("authenticated");
    } finally {
      assertThat(c.http.call("PUT", "/api/v1/settings", admin,
          new JsonObject().put("maxShareLevel", "public")).status()).isEqualTo(200);
    }
  }

  @Test
  void aNameLongerThanADnsLabelIsRefusedWithAClearMessage() {
    String ws = "a-very-long-workspace-name-x1234";
    assertThat(ws).hasSize(32);
    c.createWorkspace(alice, ws);
    assertThat(c.http.post("/api/v1/workspaces/alice/" + ws + "/agents", alice,
        new JsonObject().put("name", "a-rather-long-agent-name")).status()).isEqualTo(201);
    Resp r = c.http.call("PUT", sharePath("alice", ws, "a-rather-long-agent-name", 8080),
        alice, new JsonObject().put("level", "owner"));
    assertError(r, 400, "app_name_too_long");
    String label = "8080--a-rather-long-agent-name--" + ws + "--alice";
    assertThat(r.json().getString("message")).isEqualTo("app name '" + label + "' is "
        + label.length() + " characters; a DNS label holds at most 63 (shorten the agent,"
        + " workspace or user name by " + (label.length() - 63) + ")");
    assertThat(c.query("SELECT count(*) FROM port_shares p JOIN agents a ON a.id = p.agent_id "
        + "WHERE a.name = 'a-rather-long-agent-name'").get(0).get(0)).isEqualTo(0L);
  }

  @Test
  void lowPortsAreRefusedUnlessAllowedByConfiguration() {
    c.createWorkspace(alice, "web");
    Resp refused = share(alice, "alice", "web", 443, "public");
    assertError(refused, 400, "port_not_allowed");
    assertThat(refused.json().getString("message")).isEqualTo("port 443 is below 1024 and not in"
        + " the control plane's app-allowed-low-ports (80)");
    assertThat(share(alice, "alice", "web", 80, "public").status()).isEqualTo(200);
    assertThat(share(alice, "alice", "web", 1024, "public").status()).isEqualTo(200);

    assertError(relayCall("resolve", new JsonObject().put("app", "443--main--web--alice")),
        403, "port_not_allowed");
    assertThat(relayCall("resolve", new JsonObject().put("app", "80--main--web--alice"))
        .json().getString("level")).isEqualTo("public");
  }

  @Test
  void resolveNamesTheAppOrSaysItDoesNotExist() {
    JsonObject ws = c.createWorkspace(alice, "res");
    assertThat(share(alice, "alice", "res", 8000, "authenticated").status()).isEqualTo(200);
    Resp r = relayCall("resolve", new JsonObject().put("app", "8000s--main--res--alice"));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    JsonObject o = r.json();
    assertThat(o.getString("app")).isEqualTo("8000s--main--res--alice");
    assertThat(o.getString("owner")).isEqualTo("alice");
    assertThat(o.getString("workspace")).isEqualTo("res");
    assertThat(o.getString("fullName")).isEqualTo("alice/res");
    assertThat(o.getString("agent")).isEqualTo("main");
    assertThat(o.getInteger("port")).isEqualTo(8000);
    assertThat(o.getBoolean("https")).isTrue();
    assertThat(o.getString("level")).isEqualTo("authenticated");
    assertThat(o.getString("authUrl")).isEqualTo(c.server.url() + "/apps/auth");
    assertThat(o.getLong("agentId")).isEqualTo(c.query("SELECT a.id FROM agents a JOIN "
        + "workspaces w ON w.id = a.workspace_id WHERE w.name = 'res'").get(0).get(0));
    assertThat(o.getLong("workspaceId")).isPositive();
    assertThat(o.getLong("ownerId")).isPositive();
    assertThat(ws.getJsonObject("workspace").getString("fullName")).isEqualTo("alice/res");

    // unshared port: owner only
    assertThat(relayCall("resolve", new JsonObject().put("app", "9000--main--res--alice"))
        .json().getString("level")).isEqualTo("owner");
    for (String unknown : new String[] {"8000--main--res--nobody", "8000--main--nope--alice",
        "8000--gpu--res--alice"}) {
      Resp nf = relayCall("resolve", new JsonObject().put("app", unknown));
      assertError(nf, 404, "app_not_found");
      assertThat(nf.json().getString("message")).startsWith("app " + unknown + " does not exist");
    }
    assertError(relayCall("resolve", new JsonObject().put("app", "main--res--alice")), 400,
        "bad_app_name");
    assertError(relayCall("resolve", new JsonObject().put("app", "8000--Main_--res--alice")),
        400, "bad_app_name");
    assertError(relayCall("resolve", new JsonObject()), 400, "bad_request");
  }

  @Test
  void authorizeTurnsASessionIntoAnAppTokenForAllowedUsersOnly() throws Exception {
    c.createWorkspace(alice, "auth");
    String app = "8080--main--auth--alice";
    Resp ok = authorize(app, alice);
    assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
    String token = ok.json().getString("appToken");
    assertThat(ok.json().getString("username")).isEqualTo("alice");
    AppTokens.Claims claims = verify(token, app);
    long[] sid = session(alice);
    assertThat(claims.sessionId()).isEqualTo(sid[0]);
    assertThat(claims.userId()).isEqualTo(sid[1]);
    assertThat(claims.username()).isEqualTo("alice");
    assertThat(Duration.between(claims.issuedAt(), claims.expiresAt()))
        .isEqualTo(Duration.ofSeconds(60));
    assertThat(Instant.parse(ok.json().getString("expiresAt"))).isEqualTo(claims.expiresAt());
    Instant sessionExpiry = ((java.sql.Timestamp) c.query("SELECT expires_at FROM sessions "
        + "WHERE id = " + sid[0]).get(0).get(0)).toInstant();
    assertThat(Instant.parse(ok.json().getString("refreshUntil"))).isEqualTo(sessionExpiry);

    Resp forbidden = authorize(app, bob);
    assertError(forbidden, 403, "app_forbidden");
    assertThat(forbidden.json().getString("message")).isEqualTo("app " + app
        + " is shared with its owner only; you are signed in as bob");
    assertThat(share(alice, "alice", "auth", 8080, "authenticated").status()).isEqualTo(200);
    Resp nowOk = authorize(app, bob);
    assertThat(nowOk.status()).as(nowOk.toString()).isEqualTo(200);
    assertThat(verify(nowOk.json().getString("appToken"), app).username()).isEqualTo("bob");

    String gone = c.login("bob", Control.PASSWORD);
    assertThat(c.http.post("/api/v1/logout", gone, null).status()).isEqualTo(204);
    assertError(authorize(app, gone), 401, "session_invalid");
    assertError(authorize(app, "rms_" + "x".repeat(43)), 401, "session_invalid");
    assertError(authorize(app, relay), 401, "session_invalid");
    assertThat(authorize(app, gone).text()).doesNotContain(gone);
    assertError(authorize("8080--main--nope--alice", alice), 404, "app_not_found");
  }

  @Test
  void aHandoffCodeWorksOnceForItsAppOnly() throws Exception {
    c.createWorkspace(alice, "hand");
    String app = "8080--main--hand--alice";
    String other = "8081--main--hand--alice";
    long[] sid = session(alice);
    String code = Control.await(c.server.handoffs().create(sid[0], sid[1], app));
    assertThat(code).matches("[A-Za-z0-9_-]{43}");
    assertThat(c.query("SELECT count(*) FROM app_handoffs WHERE encode(code_hash, 'hex') = '"
        + HexFormat.of().formatHex(Tokens.hash(code)) + "'").get(0).get(0)).isEqualTo(1L);

    Resp ok = handoff(app, code);
    assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
    assertThat(verify(ok.json().getString("appToken"), app).sessionId()).isEqualTo(sid[0]);
    assertThat(ok.json().getString("username")).isEqualTo("alice");
    Resp reused = handoff(app, code);
    assertError(reused, 401, "handoff_invalid");
    assertThat(reused.text()).doesNotContain(code);

    // a code presented for another app is refused, and used up
    String misdirected = Control.await(c.server.handoffs().create(sid[0], sid[1], app));
    assertError(handoff(other, misdirected), 401, "handoff_invalid");
    assertError(handoff(app, misdirected), 401, "handoff_invalid");

    String expired = Control.await(c.server.handoffs().create(sid[0], sid[1], app));
    c.sql("UPDATE app_handoffs SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
    assertError(handoff(app, expired), 401, "handoff_invalid");
    assertError(handoff(app, "nonsense"), 401, "handoff_invalid");

    // the session behind the code has been revoked meanwhile
    String later = c.login("alice", Control.PASSWORD);
    long[] laterSid = session(later);
    String orphan = Control.await(c.server.handoffs().create(laterSid[0], laterSid[1], app));
    assertThat(c.http.post("/api/v1/logout", later, null).status()).isEqualTo(204);
    assertError(handoff(app, orphan), 401, "handoff_invalid");

    // bob's code, when the share is lowered before he uses it
    assertThat(share(alice, "alice", "hand", 8080, "authenticated").status()).isEqualTo(200);
    long[] bobSid = session(bob);
    String bobs = Control.await(c.server.handoffs().create(bobSid[0], bobSid[1], app));
    assertThat(share(alice, "alice", "hand", 8080, "owner").status()).isEqualTo(200);
    assertError(handoff(app, bobs), 403, "app_forbidden");
  }

  @Test
  void concurrentUsesOfOneCodeSucceedOnce() {
    long[] sid = session(alice);
    String app = "8080--main--race--alice";
    var store = c.server.handoffs();
    String code = Control.await(store.create(sid[0], sid[1], app));
    List<io.vertx.core.Future<HandoffStore.Handoff>> tries = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      tries.add(store.consume(code, app));
    }
    Control.await(io.vertx.core.Future.all(tries));
    assertThat(tries.stream().filter(f -> f.result() != null).count()).isEqualTo(1);
    HandoffStore.Handoff h = tries.stream().map(io.vertx.core.Future::result)
        .filter(x -> x != null).findFirst().orElseThrow();
    assertThat(h).isEqualTo(new HandoffStore.Handoff(sid[0], sid[1], app));
  }

  @Test
  void refreshReissuesAfterRecheckingSessionAndShare() throws Exception {
    c.createWorkspace(alice, "fresh");
    String app = "8080--main--fresh--alice";
    assertThat(share(alice, "alice", "fresh", 8080, "authenticated").status()).isEqualTo(200);
    String bobSession = c.login("bob", Control.PASSWORD);
    String first = authorize(app, bobSession).json().getString("appToken");

    Resp again = refresh(app, first);
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    String second = again.json().getString("appToken");
    assertThat(verify(second, app).tokenId()).isNotEqualTo(verify(first, app).tokenId());

    // an expired token with a good signature is what a relay normally presents
    ECKey key = ECKey.parse((String) c.query("SELECT private_jwk FROM signing_keys "
        + "WHERE signs_from <= now() ORDER BY signs_from DESC LIMIT 1").get(0).get(0));
    AppTokens.Claims old = verify(first, app);
    Instant past = Instant.now().minus(Duration.ofMinutes(10)).truncatedTo(ChronoUnit.SECONDS);
    String expired = AppTokens.sign(key, new AppTokens.Claims("old-1", old.issuer(), "bob",
        old.userId(), old.sessionId(), app, past, past.plusSeconds(60)));
    assertThat(verify(expired, app).expired(Instant.now(), Duration.ZERO)).isTrue();
    assertThat(refresh(app, expired).status()).isEqualTo(200);

    // forged: same kid, another key
    ECKey forger = new ECKeyGenerator(Curve.P_256).keyID(key.getKeyID()).generate();
    String forged = AppTokens.sign(forger, new AppTokens.Claims("f-1", old.issuer(), "bob",
        old.userId(), old.sessionId(), app, past, past.plusSeconds(60)));
    assertError(refresh(app, forged), 401, "app_token_invalid");
    assertError(refresh(app, "not-a-token"), 401, "app_token_invalid");
    // a token of another app
    Resp otherApp = refresh("8081--main--fresh--alice", second);
    assertError(otherApp, 401, "app_token_invalid");
    assertThat(otherApp.text()).doesNotContain(second);

    // share lowered: refused although the session is fine
    assertThat(share(alice, "alice", "fresh", 8080, "owner").status()).isEqualTo(200);
    assertError(refresh(app, second), 403, "app_forbidden");
    assertThat(share(alice, "alice", "fresh", 8080, "authenticated").status()).isEqualTo(200);
    assertThat(refresh(app, second).status()).isEqualTo(200);
    // share removed: owner only again
    assertThat(c.http.delete(sharePath("alice", "fresh", "main", 8080), alice).status())
        .isEqualTo(204);
    assertError(refresh(app, second), 403, "app_forbidden");
    assertThat(share(alice, "alice", "fresh", 8080, "authenticated").status()).isEqualTo(200);

    // session revoked
    assertThat(c.http.post("/api/v1/logout", bobSession, null).status()).isEqualTo(204);
    assertError(refresh(app, second), 401, "session_invalid");
  }

  @Test
  void relayEndpointsRefuseUserTokensAndUserEndpointsRefuseRelayTokens() {
    JsonObject body = new JsonObject().put("app", "8080--main--dev--alice");
    for (String what : new String[] {"resolve", "authorize", "handoff", "refresh"}) {
      assertError(c.http.post("/api/v1/relay/apps/" + what, alice, body), 401,
          "unauthenticated");
      assertError(c.http.post("/api/v1/relay/apps/" + what, null, body), 401, "unauthenticated");
    }
    assertError(c.http.get("/api/v1/shares", relay), 401, "unauthenticated");
    assertError(c.http.call("PUT", sharePath("alice", "dev", "main", 8080), relay,
        new JsonObject().put("level", "public")), 401, "unauthenticated");
  }
}
