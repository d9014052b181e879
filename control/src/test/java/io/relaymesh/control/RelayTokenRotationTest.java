package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.telemetry.MetricsDoc;
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

/**
 * Rotating a region's relay token without an outage: a second token, both working, the old one
 * revoked once no healthy replica uses it, refused afterwards with "relay token revoked", the
 * last active token protected, admin only, unknown region / token named, no secret listed.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class RelayTokenRotationTest {

  static Control c;
  static String admin;
  static String alice;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    admin = c.setupAdmin();
    alice = c.createUser(admin, "alice");
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static JsonObject replica(String id) {
    return new JsonObject().put("replicaId", id).put("publicUrl", "https://" + id + ".example.com");
  }

  static void assertError(Resp r, int status, String code, String message) {
    assertThat(r.status()).as(r.toString()).isEqualTo(status);
    assertThat(r.code()).as(r.toString()).isEqualTo(code);
    if (message != null) {
      assertThat(r.json().getString("message")).as(r.toString()).isEqualTo(message);
    }
  }

  static JsonArray tokens(String region) {
    Resp r = c.http.get("/api/v1/relays/" + region + "/tokens", admin);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(r.json().getString("region")).isEqualTo(region);
    return r.json().getJsonArray("tokens");
  }

  static String hex(String token) {
    return HexFormat.of().formatHex(Tokens.hash(token));
  }

  @Test
  void rotateWithoutOutage() {
    String old = c.createRegion(admin, "eu");
    long oldId = tokens("eu").getJsonObject(0).getLong("id");
    // two replicas run with the old token
    assertThat(c.http.post("/api/v1/relay/register", old, replica("eu-1")).status()).isEqualTo(200);
    assertThat(c.http.post("/api/v1/relay/register", old, replica("eu-2")).status()).isEqualTo(200);

    // a second token
    Resp created = c.http.post("/api/v1/relays/eu/tokens", admin, null);
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    String fresh = created.json().getString("token");
    long freshId = created.json().getLong("id");
    assertThat(fresh).startsWith("rmr_").hasSize(47).isNotEqualTo(old);
    assertThat(freshId).isNotEqualTo(oldId);
    assertThat(created.json().getString("region")).isEqualTo("eu");
    assertThat(created.json().getString("createdAt")).matches("\\d{4}-.*Z");
    // stored only as its hash
    assertThat(c.query("SELECT count(*) FROM relay_tokens WHERE encode(token_hash,'hex') = '"
        + hex(fresh) + "' AND revoked_at IS NULL").get(0).get(0)).isEqualTo(1L);

    // both tokens work; a rolling restart moves eu-1 to the new token
    assertThat(c.http.post("/api/v1/relay/heartbeat", old, replica("eu-1")).status()).isEqualTo(204);
    Resp reg = c.http.post("/api/v1/relay/register", fresh, replica("eu-1"));
    assertThat(reg.status()).as(reg.toString()).isEqualTo(200);
    assertThat(reg.json().getString("region")).isEqualTo("eu");
    assertThat(c.http.post("/api/v1/relay/heartbeat", fresh, replica("eu-1")).status()).isEqualTo(204);
    assertThat(c.http.post("/api/v1/relay/heartbeat", old, replica("eu-2")).status()).isEqualTo(204);

    // the list shows which healthy replicas use which token, never a secret
    Resp listed = c.http.get("/api/v1/relays/eu/tokens", admin);
    assertThat(listed.text()).doesNotContain(old).doesNotContain(fresh).doesNotContain("rmr_")
        .doesNotContain(hex(old)).doesNotContain(hex(fresh));
    JsonArray list = tokens("eu");
    assertThat(list.size()).isEqualTo(2);
    JsonObject o = list.getJsonObject(0);
    JsonObject n = list.getJsonObject(1);
    assertThat(o.getLong("id")).isEqualTo(oldId);
    assertThat(n.getLong("id")).isEqualTo(freshId);
    assertThat(o.fieldNames()).containsExactlyInAnyOrder("id", "createdAt", "revokedAt",
        "lastUsedAt", "active", "replicas");
    assertThat(o.getBoolean("active")).isTrue();
    assertThat(o.getValue("revokedAt")).isNull();
    assertThat(o.getString("lastUsedAt")).isNotNull();
    assertThat(n.getString("lastUsedAt")).isNotNull();
    assertThat(o.getJsonArray("replicas").getList()).containsExactly("eu-2");
    assertThat(n.getJsonArray("replicas").getList()).containsExactly("eu-1");

    // the old token is still in use by eu-2: refused unless forced
    assertError(c.http.delete("/api/v1/relays/eu/tokens/" + oldId, admin), 409,
        "relay_token_in_use", "relay token " + oldId + " of region 'eu' is still used by healthy "
            + "replica(s) eu-2; restart them with the new token first (they move over at their "
            + "next registration), or revoke anyway with force=true (relaymesh relays tokens "
            + "revoke eu " + oldId + " --force)");
    // eu-2 restarts with the new token; now the old one is unused and can go
    assertThat(c.http.post("/api/v1/relay/register", fresh, replica("eu-2")).status()).isEqualTo(200);
    assertThat(tokens("eu").getJsonObject(0).getJsonArray("replicas").getList()).isEmpty();
    assertThat(c.http.delete("/api/v1/relays/eu/tokens/" + oldId, admin).status()).isEqualTo(204);
    JsonObject revoked = tokens("eu").getJsonObject(0);
    assertThat(revoked.getBoolean("active")).isFalse();
    String revokedAt = revoked.getString("revokedAt");
    assertThat(revokedAt).isNotNull();
    // revoking again changes nothing
    assertThat(c.http.delete("/api/v1/relays/eu/tokens/" + oldId, admin).status()).isEqualTo(204);
    assertThat(tokens("eu").getJsonObject(0).getString("revokedAt")).isEqualTo(revokedAt);

    // the old token is refused on every relay call, naming the reason
    for (String path : List.of("/api/v1/relay/heartbeat", "/api/v1/relay/register",
        "/api/v1/relay/peer-ticket", "/api/v1/relay/agent-auth", "/api/v1/relay/presence")) {
      Resp r = c.http.post(path, old, replica("eu-1").put("targetRegion", "eu")
          .put("targetReplicaId", "eu-2"));
      assertThat(r.status()).as(path + ": " + r).isEqualTo(401);
      assertThat(r.code()).isEqualTo("unauthenticated");
      assertThat(r.json().getString("message")).as(path).startsWith("relay token revoked (token "
          + oldId + " of region 'eu', revoked at ").endsWith("); give the relay a current token "
          + "of the region (relaymesh relays tokens list eu)").doesNotContain(old);
    }
    assertThat(c.http.get("/api/v1/relay/agents/1/replicas", old).status()).isEqualTo(401);
    // while the new one keeps working
    assertThat(c.http.post("/api/v1/relay/heartbeat", fresh, replica("eu-1")).status()).isEqualTo(204);
    assertThat(c.http.post("/api/v1/relay/heartbeat", fresh, replica("eu-2")).status()).isEqualTo(204);
    Resp ticket = c.http.post("/api/v1/relay/peer-ticket", fresh, replica("eu-1")
        .put("targetRegion", "eu").put("targetReplicaId", "eu-2"));
    assertThat(ticket.status()).as(ticket.toString()).isEqualTo(200);

    // the last active token cannot be revoked, not even with force
    String last = "relay token " + freshId + " is the last active relay token of region 'eu': "
        + "revoking it would cut off every relay of the region; create a new token first "
        + "(relaymesh relays tokens create eu), or delete the region (relaymesh relays delete eu)";
    assertError(c.http.delete("/api/v1/relays/eu/tokens/" + freshId, admin), 409,
        "last_relay_token", last);
    assertError(c.http.delete("/api/v1/relays/eu/tokens/" + freshId + "?force=true", admin), 409,
        "last_relay_token", last);
    assertThat(c.http.post("/api/v1/relay/heartbeat", fresh, replica("eu-1")).status()).isEqualTo(204);

    // force: revokes a token in use; its replica is refused at its next call
    Resp third = c.http.post("/api/v1/relays/eu/tokens", admin, null);
    String thirdToken = third.json().getString("token");
    long thirdId = third.json().getLong("id");
    assertThat(c.http.post("/api/v1/relay/register", thirdToken, replica("eu-3")).status())
        .isEqualTo(200);
    assertThat(c.http.delete("/api/v1/relays/eu/tokens/" + thirdId, admin).code())
        .isEqualTo("relay_token_in_use");
    assertError(c.http.delete("/api/v1/relays/eu/tokens/" + thirdId + "?force=yes", admin), 400,
        "bad_request", "'force' must be true or false");
    assertThat(c.http.delete("/api/v1/relays/eu/tokens/" + thirdId + "?force=true", admin)
        .status()).isEqualTo(204);
    assertThat(c.http.post("/api/v1/relay/heartbeat", thirdToken, replica("eu-3")).status())
        .isEqualTo(401);
    assertThat(tokens("eu").stream().map(t -> ((JsonObject) t).getBoolean("active")))
        .containsExactly(false, true, false);

    // deleting the region takes every token with it
    assertThat(c.http.delete("/api/v1/relays/eu", admin).status()).isEqualTo(204);
    Resp gone = c.http.post("/api/v1/relay/heartbeat", fresh, replica("eu-1"));
    assertError(gone, 401, "unauthenticated",
        "relay token is revoked or unknown (was its region deleted?)");
  }

  @Test
  void lastUsedIsRecordedAndAnUnusedTokenHasNone() {
    String first = c.createRegion(admin, "us");
    Resp created = c.http.post("/api/v1/relays/us/tokens", admin, null);
    JsonArray list = tokens("us");
    assertThat(list.getJsonObject(0).getValue("lastUsedAt")).isNull();
    assertThat(list.getJsonObject(1).getValue("lastUsedAt")).isNull();
    assertThat(c.http.post("/api/v1/relay/register", first, replica("us-1")).status())
        .isEqualTo(200);
    list = tokens("us");
    assertThat(list.getJsonObject(0).getString("lastUsedAt")).isNotNull();
    assertThat(list.getJsonObject(1).getValue("lastUsedAt")).isNull();
    // not written on every call: a second call within the granularity keeps the time
    String t0 = list.getJsonObject(0).getString("lastUsedAt");
    assertThat(c.http.post("/api/v1/relay/heartbeat", first, replica("us-1")).status())
        .isEqualTo(204);
    assertThat(tokens("us").getJsonObject(0).getString("lastUsedAt")).isEqualTo(t0);
    // once older than the granularity, the next call records it again
    c.sql("UPDATE relay_tokens SET last_used_at = now() - interval '1 minute'");
    String aged = tokens("us").getJsonObject(0).getString("lastUsedAt");
    assertThat(c.http.post("/api/v1/relay/heartbeat", first, replica("us-1")).status())
        .isEqualTo(204);
    assertThat(tokens("us").getJsonObject(0).getString("lastUsedAt")).isGreaterThan(aged);
    assertThat(created.json().getString("token")).isNotNull();
    assertThat(c.http.delete("/api/v1/relays/us", admin).status()).isEqualTo(204);
  }

  @Test
  void adminOnlyAndUnknownRegionsAndTokensAreNamed() {
    c.createRegion(admin, "ap");
    long id = tokens("ap").getJsonObject(0).getLong("id");
    String[][] calls = {{"POST", "/api/v1/relays/ap/tokens"}, {"GET", "/api/v1/relays/ap/tokens"},
        {"DELETE", "/api/v1/relays/ap/tokens/" + id}};
    for (String[] call : calls) {
      var before = c.snapshot();
      assertError(c.http.call(call[0], call[1], alice, call[0].equals("POST") ? new JsonObject()
          : null), 403, "forbidden", "user 'alice' is not an admin");
      assertError(c.http.call(call[0], call[1], null, null), 401, "unauthenticated", null);
      assertThat(c.snapshot()).as(call[0] + " " + call[1]).isEqualTo(before);
    }
    // a relay token is no admin credential either
    String relay = c.http.post("/api/v1/relays/ap/tokens", admin, null).json().getString("token");
    assertError(c.http.get("/api/v1/relays/ap/tokens", relay), 401, "unauthenticated", null);

    assertError(c.http.post("/api/v1/relays/nowhere/tokens", admin, null), 404,
        "region_not_found", "region 'nowhere' not found");
    assertError(c.http.get("/api/v1/relays/nowhere/tokens", admin), 404, "region_not_found",
        "region 'nowhere' not found");
    assertError(c.http.delete("/api/v1/relays/nowhere/tokens/" + id, admin), 404,
        "region_not_found", "region 'nowhere' not found");
    assertError(c.http.delete("/api/v1/relays/ap/tokens/999999", admin), 404,
        "relay_token_not_found", "relay token 999999 of region 'ap' not found");
    assertError(c.http.delete("/api/v1/relays/ap/tokens/abc", admin), 404,
        "relay_token_not_found", "relay token 'abc' of region 'ap' not found (token ids are "
            + "numbers: see GET /api/v1/relays/ap/tokens)");
    // a token of another region is not found through this one
    c.createRegion(admin, "sa");
    long other = tokens("sa").getJsonObject(0).getLong("id");
    assertError(c.http.delete("/api/v1/relays/ap/tokens/" + other, admin), 404,
        "relay_token_not_found", "relay token " + other + " of region 'ap' not found");
    assertThat(tokens("sa").getJsonObject(0).getBoolean("active")).isTrue();

    // the routes are timed under their templates, and every metric is documented
    String scrape = c.http.get("/metrics", null).text();
    assertThat(scrape).contains("route=\"/api/v1/relays/:region/tokens\"")
        .contains("route=\"/api/v1/relays/:region/tokens/:id\"");
    assertThat(MetricsDoc.load().undocumented(scrape)).isEmpty();
  }
}
