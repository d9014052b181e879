package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Workspaces, agent tokens, regions, relay registration, health, presence, connection log. */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class WorkspaceAndRelayApiTest {

  static Control c;
  static String admin;
  static String alice;
  static String bob;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    admin = c.setupAdmin();
    alice = c.createUser(admin, "alice");
    bob = c.createUser(admin, "bob");
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static JsonObject json(Object... kv) {
    JsonObject o = new JsonObject();
    for (int i = 0; i < kv.length; i += 2) {
      o.put((String) kv[i], kv[i + 1]);
    }
    return o;
  }

  @Test
  void workspaceCreationReturnsTheAgentTokenOnceAndStoresOnlyItsHash() {
    JsonObject created = c.createWorkspace(alice, "dev");
    String token = created.getString("agentToken");
    assertThat(token).startsWith("rma_").hasSize(47);
    assertThat(created.getString("agent")).isEqualTo("main");
    assertThat(created.getString("agentCommand"))
        .isEqualTo("relaymesh agent --url " + c.server.url() + " --token " + token);
    assertThat(created.getJsonObject("workspace").getString("fullName")).isEqualTo("alice/dev");

    String hex = HexFormat.of().formatHex(Tokens.hash(token));
    assertThat(c.query("SELECT count(*) FROM agent_tokens WHERE encode(token_hash,'hex') = '"
        + hex + "'").get(0).get(0)).isEqualTo(1L);

    Resp get = c.http.get("/api/v1/workspaces/alice/dev", alice);
    assertThat(get.status()).isEqualTo(200);
    assertThat(get.text()).doesNotContain(token).doesNotContain("rma_");
    assertThat(get.json().getJsonArray("agents").getJsonObject(0).getString("name")).isEqualTo("main");

    Resp dup = c.http.post("/api/v1/workspaces", alice, json("name", "dev"));
    assertThat(dup.status()).isEqualTo(409);
    assertThat(dup.json().getString("message")).isEqualTo("workspace 'alice/dev' already exists");
    // the same name is free for another owner
    c.createWorkspace(bob, "dev");

    Resp bad = c.http.post("/api/v1/workspaces", alice, json("name", "a--b"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().getString("message")).contains("workspace name 'a--b' is invalid");

    Resp list = c.http.get("/api/v1/workspaces", alice);
    assertThat(list.json().getJsonArray("workspaces").stream()
        .map(o -> ((JsonObject) o).getString("fullName"))).containsExactly("alice/dev");
  }

  @Test
  void ownersOnlySeeTheirOwnWorkspaces() {
    c.createWorkspace(alice, "private");
    Resp r = c.http.get("/api/v1/workspaces/alice/private", bob);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.json().getString("message")).isEqualTo("workspace 'alice/private' not found");
    assertThat(c.http.delete("/api/v1/workspaces/alice/private", bob).status()).isEqualTo(404);
    // admins manage users and relays, not other people's workspaces
    assertThat(c.http.get("/api/v1/workspaces/alice/private", admin).status()).isEqualTo(404);
    assertThat(c.http.get("/api/v1/workspaces/alice/private", alice).status()).isEqualTo(200);
  }

  @Test
  void deletingAWorkspaceRevokesItsAgentTokens() {
    String relay = c.createRegion(admin, "del-test");
    String agentToken = c.createWorkspace(alice, "doomed").getString("agentToken");
    Resp second = c.http.post("/api/v1/workspaces/alice/doomed/agents", alice, json("name", "gpu"));
    assertThat(second.status()).isEqualTo(201);
    String secondToken = second.json().getString("agentToken");

    Resp auth = c.http.post("/api/v1/relay/agent-auth", relay, json("token", agentToken));
    assertThat(auth.status()).isEqualTo(200);
    assertThat(auth.json().getString("fullName")).isEqualTo("alice/doomed");
    assertThat(auth.json().getString("agent")).isEqualTo("main");
    assertThat(c.http.post("/api/v1/relay/agent-auth", relay, json("token", secondToken))
        .json().getString("agent")).isEqualTo("gpu");

    assertThat(c.http.delete("/api/v1/workspaces/alice/doomed", alice).status()).isEqualTo(204);
    assertThat(c.http.get("/api/v1/workspaces/alice/doomed", alice).status()).isEqualTo(404);
    for (String t : new String[] {agentToken, secondToken}) {
      Resp after = c.http.post("/api/v1/relay/agent-auth", relay, json("token", t));
      assertThat(after.status()).isEqualTo(403);
      assertThat(after.code()).isEqualTo("agent_token_invalid");
    }
  }

  @Test
  void regionsRelayRegistrationHeartbeatHealthAndPresence() {
    Resp created = c.http.post("/api/v1/relays", admin, json("region", "eu"));
    assertThat(created.status()).isEqualTo(201);
    String relay = created.json().getString("relayToken");
    assertThat(relay).startsWith("rmr_").hasSize(47);
    assertThat(c.http.post("/api/v1/relays", admin, json("region", "eu")).status()).isEqualTo(409);

    Resp reg = c.http.post("/api/v1/relay/register", relay, json("replicaId", "eu-1",
        "publicUrl", "https://eu.example.com", "appsHost", "apps.eu.example.com",
        "peerAddress", "10.0.0.1:7443", "version", "0.1.0"));
    assertThat(reg.status()).as(reg.toString()).isEqualTo(200);
    assertThat(reg.json().getString("region")).isEqualTo("eu");
    assertThat(c.http.post("/api/v1/relay/heartbeat", relay, json("replicaId", "eu-1")).status())
        .isEqualTo(204);
    Resp unknown = c.http.post("/api/v1/relay/heartbeat", relay, json("replicaId", "eu-9"));
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().getString("message"))
        .isEqualTo("relay replica 'eu-9' of region 'eu' is not registered; register it first");

    JsonObject eu = region(alice, "eu");
    assertThat(eu.getBoolean("healthy")).isTrue();
    JsonObject replica = eu.getJsonArray("replicas").getJsonObject(0);
    assertThat(replica.getString("publicUrl")).isEqualTo("https://eu.example.com");
    assertThat(replica.getString("appsHost")).isEqualTo("apps.eu.example.com");
    assertThat(replica.getString("peerAddress")).isEqualTo("10.0.0.1:7443");

    // presence: the relay reports an agent; routing asks who holds it
    String agentToken = c.createWorkspace(alice, "routed").getString("agentToken");
    long agentId = c.http.post("/api/v1/relay/agent-auth", relay, json("token", agentToken))
        .json().getLong("agentId");
    assertThat(c.http.post("/api/v1/relay/presence", relay, json("replicaId", "eu-1",
        "agentId", agentId, "connected", true)).status()).isEqualTo(204);
    JsonArray holders = c.http.get("/api/v1/relay/agents/" + agentId + "/replicas", relay)
        .json().getJsonArray("replicas");
    assertThat(holders).hasSize(1);
    assertThat(holders.getJsonObject(0).getString("replicaId")).isEqualTo("eu-1");
    JsonObject ws = c.http.get("/api/v1/workspaces/alice/routed", alice).json();
    assertThat(ws.getJsonArray("agents").getJsonObject(0).getBoolean("connected")).isTrue();

    // missed heartbeats (simulated by ageing the last one): unhealthy, and no longer routed to
    c.sql("UPDATE relay_replicas SET last_heartbeat_at = now() - interval '5 minutes'");
    assertThat(region(alice, "eu").getBoolean("healthy")).isFalse();
    assertThat(c.http.get("/api/v1/relay/agents/" + agentId + "/replicas", relay)
        .json().getJsonArray("replicas")).isEmpty();
    // a heartbeat brings it back
    c.http.post("/api/v1/relay/heartbeat", relay, json("replicaId", "eu-1"));
    assertThat(region(alice, "eu").getBoolean("healthy")).isTrue();

    assertThat(c.http.post("/api/v1/relay/presence", relay, json("replicaId", "eu-1",
        "agentId", agentId, "connected", false)).status()).isEqualTo(204);
    assertThat(c.http.get("/api/v1/relay/agents/" + agentId + "/replicas", relay)
        .json().getJsonArray("replicas")).isEmpty();

    // the agent itself (agent token) learns its identity and the healthy relays to connect to
    JsonObject self = c.http.get("/api/v1/agent/me", agentToken).json();
    assertThat(self.getString("fullName")).isEqualTo("alice/routed");
    JsonObject euForAgent = c.http.get("/api/v1/agent/relays", agentToken).json()
        .getJsonArray("regions").stream().map(o -> (JsonObject) o)
        .filter(o -> o.getString("region").equals("eu")).findFirst().orElseThrow();
    assertThat(euForAgent.getJsonArray("replicas").getJsonObject(0).getString("publicUrl"))
        .isEqualTo("https://eu.example.com");
    c.sql("UPDATE relay_replicas SET last_heartbeat_at = now() - interval '5 minutes'");
    assertThat(c.http.get("/api/v1/agent/relays", agentToken).json().getJsonArray("regions").stream()
        .map(o -> (JsonObject) o).filter(o -> o.getString("region").equals("eu")).findFirst()
        .orElseThrow().getJsonArray("replicas")).isEmpty();
    c.http.post("/api/v1/relay/heartbeat", relay, json("replicaId", "eu-1"));

    // deleting the region revokes its relay token
    assertThat(c.http.delete("/api/v1/relays/eu", admin).status()).isEqualTo(204);
    assertThat(c.http.post("/api/v1/relay/heartbeat", relay, json("replicaId", "eu-1")).status())
        .isEqualTo(401);
    assertThat(c.http.delete("/api/v1/relays/eu", admin).code()).isEqualTo("region_not_found");
  }

  @Test
  void relaysPostConnectionRecordsAndAdminsListThem() {
    String relay = c.createRegion(admin, "us");
    c.http.post("/api/v1/relay/register", relay, json("replicaId", "us-1", "publicUrl",
        "https://us.example.com"));
    Resp rec = c.http.post("/api/v1/relay/connections", relay, json("replicaId", "us-1",
        "username", "alice", "workspace", "alice/dev", "agent", "main", "port", 22,
        "clientAddress", "203.0.113.7", "ticketId", "t-1", "startedAt", "2026-01-01T10:00:00Z",
        "endedAt", "2026-01-01T10:05:00Z", "bytesIn", 1000, "bytesOut", 2000,
        "closeReason", "client_closed"));
    assertThat(rec.status()).as(rec.toString()).isEqualTo(201);
    Resp bad = c.http.post("/api/v1/relay/connections", relay, json("replicaId", "us-1",
        "username", "alice", "workspace", "alice/dev", "agent", "main", "startedAt", "yesterday"));
    assertThat(bad.status()).isEqualTo(400);

    Resp list = c.http.get("/api/v1/connections?limit=10", admin);
    assertThat(list.status()).isEqualTo(200);
    JsonObject entry = list.json().getJsonArray("connections").getJsonObject(0);
    assertThat(entry.getString("region")).isEqualTo("us");
    assertThat(entry.getString("replicaId")).isEqualTo("us-1");
    assertThat(entry.getString("workspace")).isEqualTo("alice/dev");
    assertThat(entry.getInteger("port")).isEqualTo(22);
    assertThat(entry.getLong("durationMs")).isEqualTo(300_000L);
    assertThat(entry.getLong("bytesOut")).isEqualTo(2000L);
    assertThat(entry.getString("closeReason")).isEqualTo("client_closed");
    assertThat(c.http.get("/api/v1/connections", alice).status()).isEqualTo(403);
    assertThat(c.http.get("/api/v1/connections?limit=0", admin).status()).isEqualTo(400);
  }

  @Test
  void aKeyedConnectionRecordIsCreatedOnceAndCompletedInPlace() {
    String relay = c.createRegion(admin, "keyed");
    String other = c.createRegion(admin, "keyed2");
    c.http.post("/api/v1/relay/register", relay, json("replicaId", "k-1", "publicUrl",
        "https://k.example.com"));
    String key = "7d9c1f3e-0b5a-4c8e-9a7e-2f0d3b6c1a11";
    JsonObject open = json("replicaId", "k-1", "key", key, "username", "alice",
        "workspace", "alice/dev", "agent", "main", "port", 22, "startedAt",
        "2026-01-01T10:00:00Z");
    JsonObject done = open.copy().put("endedAt", "2026-01-01T10:01:00Z").put("bytesIn", 10)
        .put("bytesOut", 20).put("closeReason", "client_closed");
    Resp first = c.http.post("/api/v1/relay/connections", relay, open);
    assertThat(first.status()).as(first.toString()).isEqualTo(201);
    long id = first.json().getLong("id");
    JsonObject stillOpen = keyed(key, "keyed");
    assertThat(stillOpen.getString("endedAt")).isNull();
    assertThat(stillOpen.getString("closeReason")).isNull();
    // a retried create, the completion, a retried completion, and a late create: one record
    for (JsonObject post : List.of(open, done, done, open)) {
      Resp r = c.http.post("/api/v1/relay/connections", relay, post);
      assertThat(r.status()).as(r.toString()).isEqualTo(201);
      assertThat(r.json().getLong("id")).isEqualTo(id);
    }
    JsonObject ended = keyed(key, "keyed");
    assertThat(ended.getLong("id")).isEqualTo(id);
    assertThat(ended.getString("endedAt")).isEqualTo("2026-01-01T10:01:00Z");
    assertThat(ended.getLong("durationMs")).isEqualTo(60_000L);
    assertThat(ended.getLong("bytesIn")).isEqualTo(10L);
    assertThat(ended.getLong("bytesOut")).isEqualTo(20L);
    assertThat(ended.getString("closeReason")).isEqualTo("client_closed");
    // another region's relay posting the same replica id and key gets a record of its own
    Resp foreign = c.http.post("/api/v1/relay/connections", other, done.copy()
        .put("closeReason", "forged"));
    assertThat(foreign.status()).as(foreign.toString()).isEqualTo(201);
    assertThat(foreign.json().getLong("id")).isNotEqualTo(id);
    assertThat(keyed(key, "keyed").getString("closeReason")).isEqualTo("client_closed");
    Resp bad = c.http.post("/api/v1/relay/connections", relay, open.copy().put("key", "a b"));
    assertThat(bad.status()).isEqualTo(400);
  }

  /** The records of {@code key} in {@code region}: exactly one, returned. */
  private static JsonObject keyed(String key, String region) {
    Resp list = c.http.get("/api/v1/connections?limit=500", admin);
    assertThat(list.status()).isEqualTo(200);
    List<JsonObject> found = list.json().getJsonArray("connections").stream()
        .map(o -> (JsonObject) o)
        .filter(e -> key.equals(e.getString("key")) && region.equals(e.getString("region")))
        .toList();
    assertThat(found).hasSize(1);
    return found.get(0);
  }

  private static JsonObject region(String token, String name) {
    Resp r = c.http.get("/api/v1/relays", token);
    assertThat(r.status()).isEqualTo(200);
    return r.json().getJsonArray("regions").stream().map(o -> (JsonObject) o)
        .filter(o -> o.getString("region").equals(name)).findFirst().orElseThrow();
  }
}
