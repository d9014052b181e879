package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every authenticated endpoint against every wrong credential: no token, an expired token, a
 * revoked token, another user's token, an agent token and a relay token. Each case asserts the
 * exact status and error code, and that no table changed.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(300)
class AuthorizationMatrixTest {

  /** Who may call an endpoint. */
  enum Role {
    /** any user, acting on their own data (another user's token is legitimate there) */
    SELF,
    /** the owner of workspace alice/dev */
    OWNER,
    ADMIN,
    RELAY,
    /** an agent, by its agent token */
    AGENT
  }

  record Endpoint(String method, String path, Role role, JsonObject body) {
    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  static final String APP = "8080--main--dev--alice";
  static Control c;
  static final Map<String, String> creds = new LinkedHashMap<>();
  static long agentId;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    String admin = c.setupAdmin();
    String alice = c.createUser(admin, "alice");
    String bob = c.createUser(admin, "bob");
    String agent = c.createWorkspace(alice, "dev").getString("agentToken");
    String relay = c.createRegion(admin, "eu");
    String goneRelay = c.createRegion(admin, "gone");
    String goneAgent = c.createWorkspace(alice, "old").getString("agentToken");
    assertThat(c.http.delete("/api/v1/workspaces/alice/old", alice).status()).isEqualTo(204);
    assertThat(c.http.delete("/api/v1/relays/gone", admin).status()).isEqualTo(204);
    c.http.post("/api/v1/relay/register", relay,
        new JsonObject().put("replicaId", "eu-1").put("publicUrl", "https://eu.example.com"));
    agentId = c.http.post("/api/v1/relay/agent-auth", relay, new JsonObject().put("token", agent))
        .json().getLong("agentId");

    String aliceExpired = c.login("alice", Control.PASSWORD);
    String adminExpired = c.login(Control.ADMIN, Control.PASSWORD);
    c.sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id IN "
        + "(SELECT max(id) FROM sessions GROUP BY user_id HAVING user_id IN "
        + "(SELECT id FROM users WHERE username IN ('alice', 'admin')))");
    assertThat(c.http.get("/api/v1/me", aliceExpired).status()).isEqualTo(401);
    String aliceRevoked = c.login("alice", Control.PASSWORD);
    String adminRevoked = c.login(Control.ADMIN, Control.PASSWORD);
    c.http.post("/api/v1/logout", aliceRevoked, null);
    c.http.post("/api/v1/logout", adminRevoked, null);

    creds.put("alice", alice);
    creds.put("admin", admin);
    creds.put("bob", bob);
    creds.put("agent", agent);
    creds.put("relay", relay);
    creds.put("relay-revoked", goneRelay);
    creds.put("agent-revoked", goneAgent);
    creds.put("alice-expired", aliceExpired);
    creds.put("admin-expired", adminExpired);
    creds.put("alice-revoked", aliceRevoked);
    creds.put("admin-revoked", adminRevoked);
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static List<Endpoint> endpoints() {
    JsonObject none = new JsonObject();
    return List.of(
        new Endpoint("POST", "/api/v1/logout", Role.SELF, none),
        new Endpoint("GET", "/api/v1/me", Role.SELF, null),
        new Endpoint("GET", "/api/v1/workspaces", Role.SELF, null),
        new Endpoint("POST", "/api/v1/workspaces", Role.SELF, new JsonObject().put("name", "new")),
        new Endpoint("GET", "/api/v1/relays", Role.SELF, null),
        new Endpoint("GET", "/api/v1/workspaces/alice/dev", Role.OWNER, null),
        new Endpoint("DELETE", "/api/v1/workspaces/alice/dev", Role.OWNER, null),
        new Endpoint("POST", "/api/v1/workspaces/alice/dev/agents", Role.OWNER,
            new JsonObject().put("name", "gpu")),
        new Endpoint("POST", "/api/v1/tickets", Role.OWNER,
            new JsonObject().put("workspace", "alice/dev").put("port", 22)),
        new Endpoint("GET", "/api/v1/users", Role.ADMIN, null),
        new Endpoint("POST", "/api/v1/users", Role.ADMIN,
            new JsonObject().put("username", "eve").put("password", Control.PASSWORD)),
        new Endpoint("DELETE", "/api/v1/users/alice", Role.ADMIN, null),
        new Endpoint("POST", "/api/v1/relays", Role.ADMIN, new JsonObject().put("region", "us")),
        new Endpoint("DELETE", "/api/v1/relays/eu", Role.ADMIN, null),
        new Endpoint("GET", "/api/v1/connections", Role.ADMIN, null),
        new Endpoint("POST", "/api/v1/relay/register", Role.RELAY, new JsonObject()
            .put("replicaId", "eu-2").put("publicUrl", "https://eu2.example.com")),
        new Endpoint("POST", "/api/v1/relay/heartbeat", Role.RELAY,
            new JsonObject().put("replicaId", "eu-1")),
        new Endpoint("POST", "/api/v1/relay/deregister", Role.RELAY,
            new JsonObject().put("replicaId", "eu-1")),
        new Endpoint("POST", "/api/v1/relay/peer-ticket", Role.RELAY, new JsonObject()
            .put("replicaId", "eu-1").put("targetRegion", "eu").put("targetReplicaId", "eu-1")),
        new Endpoint("POST", "/api/v1/relay/agent-auth", Role.RELAY, null),
        new Endpoint("POST", "/api/v1/relay/presence", Role.RELAY, null),
        new Endpoint("GET", "/api/v1/relay/agents/{agentId}/replicas", Role.RELAY, null),
        new Endpoint("GET", "/api/v1/agent/me", Role.AGENT, null),
        new Endpoint("GET", "/api/v1/agent/relays", Role.AGENT, null),
        new Endpoint("POST", "/api/v1/relay/connections", Role.RELAY, new JsonObject()
            .put("replicaId", "eu-1").put("username", "alice").put("workspace", "alice/dev")
            .put("agent", "main").put("startedAt", "2026-01-01T00:00:00Z")),
        new Endpoint("PUT", "/api/v1/workspaces/alice/dev/agents/main/ports/8080/share",
            Role.OWNER, new JsonObject().put("level", "authenticated")),
        new Endpoint("DELETE", "/api/v1/workspaces/alice/dev/agents/main/ports/8080/share",
            Role.OWNER, null),
        new Endpoint("GET", "/api/v1/shares", Role.SELF, null),
        new Endpoint("GET", "/api/v1/settings", Role.SELF, null),
        new Endpoint("PUT", "/api/v1/settings", Role.ADMIN,
            new JsonObject().put("maxShareLevel", "owner")),
        new Endpoint("POST", "/api/v1/relay/apps/resolve", Role.RELAY,
            new JsonObject().put("app", APP)),
        new Endpoint("POST", "/api/v1/relay/apps/authorize", Role.RELAY,
            new JsonObject().put("app", APP).put("sessionToken", "rms_unknown")),
        new Endpoint("POST", "/api/v1/relay/apps/handoff", Role.RELAY,
            new JsonObject().put("app", APP).put("code", "unknown")),
        new Endpoint("POST", "/api/v1/relay/apps/refresh", Role.RELAY,
            new JsonObject().put("app", APP).put("appToken", "not.a.token")));
  }

  /** A wrong credential, and what each role's endpoints answer to it (null: not applicable). */
  record Case(String name, Map<Role, String> credential, Map<Role, Integer> status,
      Map<Role, String> code) {}

  static List<Case> cases() {
    List<Case> l = new ArrayList<>();
    Map<Role, Integer> all401 = Map.of(Role.SELF, 401, Role.OWNER, 401, Role.ADMIN, 401,
        Role.RELAY, 401, Role.AGENT, 401);
    Map<Role, String> allUnauth = Map.of(Role.SELF, "unauthenticated", Role.OWNER, "unauthenticated",
        Role.ADMIN, "unauthenticated", Role.RELAY, "unauthenticated", Role.AGENT, "unauthenticated");
    l.add(new Case("no token", Map.of(), all401, allUnauth));
    l.add(new Case("expired token", Map.of(Role.SELF, "alice-expired", Role.OWNER, "alice-expired",
        Role.ADMIN, "admin-expired", Role.RELAY, "alice-expired", Role.AGENT, "alice-expired"),
        all401, allUnauth));
    l.add(new Case("revoked token", Map.of(Role.SELF, "alice-revoked", Role.OWNER, "alice-revoked",
        Role.ADMIN, "admin-revoked", Role.RELAY, "relay-revoked", Role.AGENT, "agent-revoked"),
        all401, allUnauth));
    l.add(new Case("another user's token", Map.of(Role.OWNER, "bob", Role.ADMIN, "bob",
        Role.RELAY, "bob", Role.AGENT, "bob"),
        Map.of(Role.OWNER, 404, Role.ADMIN, 403, Role.RELAY, 401, Role.AGENT, 401),
        Map.of(Role.OWNER, "workspace_not_found", Role.ADMIN, "forbidden",
            Role.RELAY, "unauthenticated", Role.AGENT, "unauthenticated")));
    l.add(new Case("agent token", Map.of(Role.SELF, "agent", Role.OWNER, "agent",
        Role.ADMIN, "agent", Role.RELAY, "agent"), all401, allUnauth));
    l.add(new Case("relay token", Map.of(Role.SELF, "relay", Role.OWNER, "relay",
        Role.ADMIN, "relay", Role.AGENT, "relay"), all401, allUnauth));
    return l;
  }

  @TestFactory
  Stream<DynamicTest> everyEndpointRejectsEveryWrongCredential() {
    List<DynamicTest> tests = new ArrayList<>();
    for (Endpoint e : endpoints()) {
      for (Case k : cases()) {
        Integer expected = k.status().get(e.role());
        if (expected == null || (!k.name().equals("no token") && k.credential().get(e.role()) == null)) {
          continue;
        }
        tests.add(DynamicTest.dynamicTest(e + " with " + k.name() + " -> " + expected, () -> {
          String token = k.credential().isEmpty() ? null : creds.get(k.credential().get(e.role()));
          Map<String, String> before = c.snapshot();
          Resp r = c.http.call(e.method(), path(e), token, body(e));
          assertThat(r.status()).as(r.toString()).isEqualTo(expected);
          assertThat(r.json().getString("code")).isEqualTo(k.code().get(e.role()));
          assertThat(r.json().getString("message")).isNotBlank();
          if (token != null) {
            assertThat(r.text()).doesNotContain(token);
          }
          assertThat(c.snapshot()).isEqualTo(before);
        }));
      }
    }
    assertThat(tests).hasSizeGreaterThan(100);
    return tests.stream();
  }

  @TestFactory
  Stream<DynamicTest> theRightCredentialIsAccepted() {
    // read-only endpoints with their legitimate credential: proves the matrix rejects for the
    // credential, not because the request itself is broken
    return Stream.of(
        new Endpoint("GET", "/api/v1/me", Role.SELF, null),
        new Endpoint("GET", "/api/v1/workspaces/alice/dev", Role.OWNER, null),
        new Endpoint("POST", "/api/v1/tickets", Role.OWNER,
            new JsonObject().put("workspace", "alice/dev").put("port", 22)),
        new Endpoint("GET", "/api/v1/users", Role.ADMIN, null),
        new Endpoint("GET", "/api/v1/connections", Role.ADMIN, null),
        new Endpoint("POST", "/api/v1/relay/heartbeat", Role.RELAY,
            new JsonObject().put("replicaId", "eu-1")),
        new Endpoint("GET", "/api/v1/relay/agents/{agentId}/replicas", Role.RELAY, null),
        new Endpoint("POST", "/api/v1/relay/peer-ticket", Role.RELAY, new JsonObject()
            .put("replicaId", "eu-1").put("targetRegion", "eu").put("targetReplicaId", "eu-1")),
        new Endpoint("GET", "/api/v1/agent/relays", Role.AGENT, null),
        new Endpoint("GET", "/api/v1/shares", Role.SELF, null),
        new Endpoint("GET", "/api/v1/settings", Role.SELF, null),
        new Endpoint("POST", "/api/v1/relay/apps/resolve", Role.RELAY,
            new JsonObject().put("app", APP)))
        .map(e -> DynamicTest.dynamicTest(e.toString(), () -> {
          String who = switch (e.role()) {
            case SELF, OWNER -> "alice";
            case ADMIN -> "admin";
            case RELAY -> "relay";
            case AGENT -> "agent";
          };
          Resp r = c.http.call(e.method(), path(e), creds.get(who), body(e));
          assertThat(r.status()).as(r.toString()).isBetween(200, 204);
        }));
  }

  static String path(Endpoint e) {
    return e.path().replace("{agentId}", Long.toString(agentId));
  }

  static JsonObject body(Endpoint e) {
    if (e.path().endsWith("/agent-auth")) {
      return new JsonObject().put("token", creds.get("agent"));
    }
    if (e.path().endsWith("/presence")) {
      return new JsonObject().put("replicaId", "eu-1").put("agentId", agentId).put("connected", true);
    }
    return e.body();
  }
}
