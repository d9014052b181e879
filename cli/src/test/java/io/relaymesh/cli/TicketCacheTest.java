package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cached ticket answers: reuse while enough time is left, per key, 0600, damaged files, clearing. */
class TicketCacheTest {

  static final Instant T = Instant.parse("2026-01-02T03:04:05Z");

  static JsonObject answer(String ticket, Instant expires) {
    return new JsonObject().put("ticket", ticket).put("expiresAt", expires.toString())
        .put("relays", new io.vertx.core.json.JsonArray());
  }

  @Test
  void reusesATicketWhileAtLeastMinRemainingIsLeft(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("config");
    TicketCache cache = new TicketCache(config);
    String k = TicketCache.key("http://cp", "alice", "dev", "main", 22, null);
    assertThat(cache.get(k, T)).isNull();
    cache.put(k, answer("t1", T.plusSeconds(120)), T);
    assertThat(Files.getPosixFilePermissions(cache.file()))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));

    TicketCache again = new TicketCache(config);
    assertThat(again.get(k, T).getString("ticket")).isEqualTo("t1");
    assertThat(again.get(k, T.plusSeconds(90))).as("exactly MIN_REMAINING left").isNotNull();
    assertThat(again.get(k, T.plusSeconds(91))).isNull();
    assertThat(again.get(TicketCache.key("http://cp", "bob", "dev", "main", 22, null), T)).isNull();
    assertThat(again.get(TicketCache.key("http://cp", "alice", "dev", "main", 22, "eu"), T)).isNull();
    assertThat(again.get(TicketCache.key("http://cp", "alice", "dev", "main", 8080, null), T)).isNull();

    // writing drops expired entries; removing the last one removes the file
    String k2 = TicketCache.key("http://cp", "alice", "web", "main", 22, null);
    cache.put(k2, answer("t2", T.plusSeconds(300)), T.plusSeconds(200));
    assertThat(new JsonObject(Files.readString(cache.file())).fieldNames()).containsExactly(k2);
    cache.put(k2, null, T.plusSeconds(200));
    assertThat(Files.exists(cache.file())).isFalse();
  }

  @Test
  void aDamagedFileIsIgnoredAndRewritten(@TempDir Path dir) throws Exception {
    TicketCache cache = new TicketCache(dir);
    Files.writeString(cache.file(), "{not json");
    assertThat(cache.get("k", T)).isNull();
    Files.writeString(cache.file(), new JsonObject().put("k", new JsonObject().put("ticket", "t")
        .put("expiresAt", "yesterday")).encode());
    assertThat(cache.get("k", T)).isNull();
    cache.put("k", answer("t3", T.plusSeconds(60)), T);
    assertThat(cache.get("k", T).getString("ticket")).isEqualTo("t3");
  }

  @Test
  void loginAndLogoutDeleteTheCachedTickets(@TempDir Path dir) {
    Env env = new Env(Map.of("RELAYMESH_CONFIG_DIR", dir.toString()), System.in, System.out,
        System.err, null);
    TicketCache cache = new TicketCache(dir);
    cache.put("k", answer("t", T.plusSeconds(600)), T);
    new Credentials("http://cp", "alice", "token").save(env);
    assertThat(Files.exists(cache.file())).as("login").isFalse();
    cache.put("k", answer("t", T.plusSeconds(600)), T);
    Credentials.delete(env);
    assertThat(Files.exists(cache.file())).as("logout").isFalse();
    assertThat(TicketCache.enabled(env)).isTrue();
    assertThat(TicketCache.enabled(new Env(Map.of("RELAYMESH_TICKET_CACHE", "off"), System.in,
        System.out, System.err, null))).isFalse();
  }

  @Test
  void ticketCacheGivesAnyUnexpiredTicketWithMinLeftZero(@TempDir Path dir) {
    Instant t = T;
    TicketCache cache = new TicketCache(dir);
    cache.put("k", answer("t", t.plusSeconds(20)), t);
    assertThat(cache.get("k", t)).as("under MIN_REMAINING").isNull();
    assertThat(cache.get("k", t, java.time.Duration.ZERO).getString("ticket")).isEqualTo("t");
    assertThat(cache.get("k", t.plusSeconds(19), java.time.Duration.ZERO)).isNotNull();
    assertThat(cache.get("k", t.plusSeconds(20), java.time.Duration.ZERO)).as("expired").isNull();
    assertThat(cache.get("k", t, java.time.Duration.ofSeconds(21))).isNull();
  }
}
