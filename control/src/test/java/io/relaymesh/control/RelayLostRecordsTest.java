package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.store.ConnectionStore;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A relay killed with SIGKILL never completes the records of the connections it carried: the
 * control plane ends them as {@code relay-lost} once it knows the relay is gone (heartbeat
 * expiry, or a registration by a new process of the same replica), and the relay's own
 * completion, should it come after all, replaces that end (docs/api.md "The connection log").
 *
 * <p>Two control planes on the shared embedded PostgreSQL: {@code fast} (heartbeat timeout 3 s)
 * ends records by its own timer; {@code slow} (10 minutes, so that its own timer never acts
 * during the test) serves the registration path and the database for the watch driven by hand
 * with a clock of the test's. Heartbeat times are set with SQL, so nothing depends on timing.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class RelayLostRecordsTest {

  static final String HEARTBEAT = "2026-01-01T12:00:00Z";

  @TempDir
  static Path dir;
  static Control fast;
  static Control slow;
  static String fastAdmin;
  static String slowAdmin;
  static Vertx vertx;
  static Db db;

  @BeforeAll
  static void start() {
    fast = Control.start(Control.relayTestConfig(dir.resolve("fast"), Duration.ofSeconds(3)));
    fastAdmin = fast.setupAdmin();
    slow = Control.start(Control.relayTestConfig(dir.resolve("slow"), Duration.ofMinutes(10)));
    slowAdmin = slow.setupAdmin();
    vertx = Vertx.vertx();
    db = Db.create(vertx, slow.db, 2);
  }

  @AfterAll
  static void stop() {
    if (db != null) {
      db.close();
    }
    if (vertx != null) {
      Control.await(vertx.close());
    }
    if (fast != null) {
      fast.close();
    }
    if (slow != null) {
      slow.close();
    }
  }

  @Test
  void anExpiredRelaysOpenRecordsAreEndedRelayLostAndItsLateCompletionStillWins() {
    String relay = fast.createRegion(fastAdmin, "lost");
    String other = fast.createRegion(fastAdmin, "lost2");
    register(fast, relay, "gone-1", null);
    register(fast, relay, "alive-1", null);
    register(fast, other, "gone-1", null); // the same replica id in another region
    // the first dies, the others keep heartbeating (a heartbeat in the future does not expire)
    fast.sql("UPDATE relay_replicas SET last_heartbeat_at = now() + interval '1 hour'");
    fast.sql("UPDATE relay_replicas r SET last_heartbeat_at = '" + HEARTBEAT + "' FROM regions g "
        + "WHERE g.id = r.region_id AND g.name = 'lost' AND r.replica_id = 'gone-1'");

    JsonObject cut = record("gone-1", "k-cut", "2026-01-01T10:00:00Z");
    JsonObject late = record("gone-1", "k-late", "2026-01-01T13:00:00Z"); // after the heartbeat
    JsonObject done = record("gone-1", "k-done", "2026-01-01T10:00:00Z")
        .put("endedAt", "2026-01-01T10:30:00Z").put("bytesIn", 7).put("bytesOut", 8)
        .put("closeReason", "client_closed");
    long cutId = post(fast, relay, cut);
    post(fast, relay, late);
    post(fast, relay, done);
    post(fast, relay, record("alive-1", "k-alive", "2026-01-01T10:00:00Z"));
    post(fast, other, record("gone-1", "k-other", "2026-01-01T10:00:00Z"));

    JsonObject lost = await("k-cut ended relay-lost by the control plane's own timer",
        () -> keyed(fast, "lost", "k-cut"), r -> "relay-lost".equals(r.getString("closeReason")));
    assertThat(lost.getString("endedAt")).as("ended at the relay's last heartbeat")
        .isEqualTo(HEARTBEAT);
    assertThat(lost.getLong("bytesIn")).isZero();
    assertThat(lost.getLong("bytesOut")).isZero();
    JsonObject lostLate = keyed(fast, "lost", "k-late");
    assertThat(lostLate.getString("closeReason")).isEqualTo("relay-lost");
    assertThat(lostLate.getString("endedAt")).as("started after the last heartbeat: ended at its "
        + "start, never before it").isEqualTo("2026-01-01T13:00:00Z");
    // untouched: a record the relay completed, another replica's, another region's
    JsonObject stillDone = keyed(fast, "lost", "k-done");
    assertThat(stillDone.getString("closeReason")).isEqualTo("client_closed");
    assertThat(stillDone.getString("endedAt")).isEqualTo("2026-01-01T10:30:00Z");
    assertThat(stillDone.getLong("bytesIn")).isEqualTo(7L);
    assertThat(keyed(fast, "lost", "k-alive").getString("endedAt")).isNull();
    assertThat(keyed(fast, "lost2", "k-other").getString("endedAt")).isNull();
    assertThat(keyed(fast, "lost2", "k-other").getString("closeReason")).isNull();

    // a late create of a relay-lost record changes nothing
    assertThat(post(fast, relay, late)).isEqualTo(keyed(fast, "lost", "k-late").getLong("id"));
    assertThat(keyed(fast, "lost", "k-late").getString("closeReason")).isEqualTo("relay-lost");
    // the relay was alive after all: its completion replaces the relay-lost end
    JsonObject completion = cut.copy().put("endedAt", "2026-01-01T12:00:05Z").put("bytesIn", 5)
        .put("bytesOut", 6).put("closeReason", "client_closed");
    assertThat(post(fast, relay, completion)).isEqualTo(cutId);
    JsonObject real = keyed(fast, "lost", "k-cut");
    assertThat(real.getLong("id")).isEqualTo(cutId);
    assertThat(real.getString("endedAt")).isEqualTo("2026-01-01T12:00:05Z");
    assertThat(real.getLong("bytesIn")).isEqualTo(5L);
    assertThat(real.getLong("bytesOut")).isEqualTo(6L);
    assertThat(real.getString("closeReason")).isEqualTo("client_closed");
    // ... once: a second completion (and the next looks) leave the real one alone
    post(fast, relay, cut.copy().put("endedAt", "2026-01-01T12:09:00Z").put("bytesIn", 99)
        .put("bytesOut", 99).put("closeReason", "second"));
    post(fast, relay, cut);
    post(fast, relay, record("gone-1", "k-probe", "2026-01-01T10:00:00Z"));
    await("a look after the completion (k-probe ended)", () -> keyed(fast, "lost", "k-probe"),
        r -> "relay-lost".equals(r.getString("closeReason")));
    assertThat(fast.query("SELECT count(*) FROM connections WHERE record_key = 'k-cut' "
        + "AND lost_at IS NULL").get(0).get(0)).isEqualTo(1L);
    JsonObject after = keyed(fast, "lost", "k-cut");
    assertThat(after.getString("endedAt")).isEqualTo("2026-01-01T12:00:05Z");
    assertThat(after.getLong("bytesIn")).isEqualTo(5L);
    assertThat(after.getString("closeReason")).isEqualTo("client_closed");
    // a relay's own completion is never replaced, even one that says "relay-lost" itself
    JsonObject says = record("alive-1", "k-says", "2026-01-01T10:00:00Z")
        .put("endedAt", "2026-01-01T10:00:01Z").put("closeReason", "relay-lost");
    post(fast, relay, says);
    post(fast, relay, says.copy().put("endedAt", "2026-01-01T10:09:00Z").put("closeReason", "x"));
    assertThat(keyed(fast, "lost", "k-says").getString("endedAt"))
        .isEqualTo("2026-01-01T10:00:01Z");
  }

  @Test
  void aRegistrationByANewProcessEndsThePreviousProcesssOpenRecords() {
    String relay = slow.createRegion(slowAdmin, "restart");
    String other = slow.createRegion(slowAdmin, "restart2");
    register(slow, relay, "r-1", "instance-1");
    register(slow, relay, "r-2", "instance-9");
    register(slow, other, "r-1", "instance-8");
    long open = post(slow, relay, record("r-1", "k-open", "2026-01-01T10:00:00Z"));
    post(slow, relay, record("r-1", "k-ended", "2026-01-01T10:00:00Z")
        .put("endedAt", "2026-01-01T10:00:09Z").put("closeReason", "client_closed"));
    post(slow, relay, record("r-2", "k-neighbour", "2026-01-01T10:00:00Z"));
    post(slow, other, record("r-1", "k-far", "2026-01-01T10:00:00Z"));

    // the same process registers again (a reloaded certificate): nothing ends
    register(slow, relay, "r-1", "instance-1");
    assertThat(keyed(slow, "restart", "k-open").getString("endedAt")).isNull();
    // a new process of r-1: the records of the one before end at its last heartbeat
    slow.sql("UPDATE relay_replicas SET last_heartbeat_at = '" + HEARTBEAT + "' "
        + "WHERE replica_id = 'r-1'");
    register(slow, relay, "r-1", "instance-2");
    JsonObject lost = keyed(slow, "restart", "k-open");
    assertThat(lost.getLong("id")).isEqualTo(open);
    assertThat(lost.getString("closeReason")).isEqualTo("relay-lost");
    assertThat(lost.getString("endedAt")).isEqualTo(HEARTBEAT);
    assertThat(keyed(slow, "restart", "k-ended").getString("closeReason"))
        .isEqualTo("client_closed");
    assertThat(keyed(slow, "restart", "k-neighbour").getString("endedAt")).isNull();
    assertThat(keyed(slow, "restart2", "k-far").getString("endedAt")).isNull();

    // without an instance id on either side a registration ends nothing (older relays)
    post(slow, relay, record("r-1", "k-open2", "2026-01-01T11:00:00Z"));
    register(slow, relay, "r-1", null);
    register(slow, relay, "r-1", "instance-3");
    assertThat(keyed(slow, "restart", "k-open2").getString("endedAt")).isNull();
    // a malformed instance id is refused
    Resp bad = slow.http.post("/api/v1/relay/register", relay, new JsonObject()
        .put("replicaId", "r-1").put("publicUrl", "https://r.example.com")
        .put("instanceId", "not an id"));
    assertThat(bad.status()).as(bad.toString()).isEqualTo(400);
    assertThat(bad.json().getString("message")).contains("instanceId");
  }

  /**
   * The watch ends records only after the database answered every look for a whole heartbeat
   * timeout: a control plane that was down, or lost its database, does not declare every relay
   * lost before the relays could heartbeat again.
   */
  @Test
  void theWatchWaitsAWholeTimeoutOfWorkingLooksBeforeItEndsRecords() throws Exception {
    String relay = slow.createRegion(slowAdmin, "grace");
    register(slow, relay, "g-1", null);
    slow.sql("UPDATE relay_replicas SET last_heartbeat_at = now() - interval '1 hour' "
        + "WHERE replica_id = 'g-1'");
    post(slow, relay, record("g-1", "k-g1", "2026-01-01T10:00:00Z"));
    AtomicLong clock = new AtomicLong();
    long s = 1_000_000_000L;
    RelayLossWatch watch = new RelayLossWatch(db, new ConnectionStore(db), Duration.ofSeconds(60),
        clock::get); // looks every 20 s
    assertThat(grace(watch)).isEmpty(); // 0 s: the database answers
    clock.set(40 * s);
    assertThat(grace(watch)).isEmpty(); // 40 s: not a whole timeout yet
    assertThat(keyed(slow, "grace", "k-g1").getString("endedAt")).isNull();
    clock.set(60 * s);
    List<ConnectionStore.Lost> lost = grace(watch);
    assertThat(lost).hasSize(1);
    assertThat(lost.get(0).region()).isEqualTo("grace");
    assertThat(lost.get(0).replicaId()).isEqualTo("g-1");
    assertThat(lost.get(0).records()).isEqualTo(1L);
    assertThat(keyed(slow, "grace", "k-g1").getString("closeReason")).isEqualTo("relay-lost");

    // a stalled process (no look for 3 intervals) waits again
    post(slow, relay, record("g-1", "k-g2", "2026-01-01T10:00:00Z"));
    clock.set(200 * s);
    assertThat(grace(watch)).isEmpty();
    clock.set(240 * s);
    assertThat(grace(watch)).isEmpty();
    assertThat(keyed(slow, "grace", "k-g2").getString("endedAt")).isNull();
    clock.set(260 * s);
    assertThat(grace(watch)).hasSize(1);
    assertThat(keyed(slow, "grace", "k-g2").getString("closeReason")).isEqualTo("relay-lost");

    // the database goes away: the looks fail, and once it is back the watch waits again
    post(slow, relay, record("g-1", "k-g3", "2026-01-01T10:00:00Z"));
    PostgresTarget t = slow.db;
    String database = t.database();
    try (Db admin = Db.create(vertx, new PostgresTarget(t.host(), t.port(), "postgres", t.user(),
        t.password()), 1)) {
      Control.await(admin.exec("test.refuse", "ALTER DATABASE " + database
          + " ALLOW_CONNECTIONS false", Tuple.tuple()));
      try {
        Control.await(admin.exec("test.terminate", "SELECT pg_terminate_backend(pid) FROM "
            + "pg_stat_activity WHERE datname = '" + database + "'", Tuple.tuple()));
        clock.set(280 * s);
        assertThat(watch.tick().toCompletionStage().toCompletableFuture()
            .handle((x, e) -> e).get(60, java.util.concurrent.TimeUnit.SECONDS))
            .as("a look while the database refuses connections").isNotNull();
      } finally {
        Control.await(admin.exec("test.allow", "ALTER DATABASE " + database
            + " ALLOW_CONNECTIONS true", Tuple.tuple()));
      }
    }
    // answers again (a pooled connection the database closed may fail one more look): the
    // wait starts with the first look that works
    long back = 281 * s;
    for (int i = 0; ; i++, back += s) {
      clock.set(back);
      Throwable e = watch.tick().toCompletionStage().toCompletableFuture()
          .handle((x, err) -> err).get(60, java.util.concurrent.TimeUnit.SECONDS);
      if (e == null) {
        break;
      }
      assertThat(i).as("looks failing after the database is back: %s", e).isLessThan(10);
    }
    clock.set(back + 40 * s);
    assertThat(grace(watch)).isEmpty();
    assertThat(keyed(slow, "grace", "k-g3").getString("endedAt")).isNull();
    clock.set(back + 60 * s);
    assertThat(grace(watch)).hasSize(1);
    assertThat(keyed(slow, "grace", "k-g3").getString("closeReason")).isEqualTo("relay-lost");
  }

  /** One look of {@code watch}: what it ended in region "grace" (other tests' regions aside). */
  private static List<ConnectionStore.Lost> grace(RelayLossWatch watch) {
    return Control.await(watch.tick()).stream().filter(l -> l.region().equals("grace")).toList();
  }

  private static void register(Control c, String relayToken, String replica, String instance) {
    JsonObject body = new JsonObject().put("replicaId", replica)
        .put("publicUrl", "https://" + replica + ".example.com");
    if (instance != null) {
      body.put("instanceId", instance);
    }
    Resp r = c.http.post("/api/v1/relay/register", relayToken, body);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
  }

  private static JsonObject record(String replica, String key, String startedAt) {
    return new JsonObject().put("replicaId", replica).put("key", key).put("username", "alice")
        .put("workspace", "alice/dev").put("agent", "main").put("port", 22)
        .put("startedAt", startedAt);
  }

  /** Posts a connection record (asserted 201); its id. */
  private static long post(Control c, String relayToken, JsonObject record) {
    Resp r = c.http.post("/api/v1/relay/connections", relayToken, record);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().getLong("id");
  }

  /** The one record of {@code key} in {@code region}, as admins list it. */
  private static JsonObject keyed(Control c, String region, String key) {
    Resp list = c.http.get("/api/v1/connections?limit=500", c == fast ? fastAdmin : slowAdmin);
    // after the database closed its connections, a pooled one may fail a request or two (503)
    for (int i = 0; i < 20 && list.status() == 503; i++) {
      sleep(200);
      list = c.http.get("/api/v1/connections?limit=500", c == fast ? fastAdmin : slowAdmin);
    }
    assertThat(list.status()).as(list.toString()).isEqualTo(200);
    List<JsonObject> found = list.json().getJsonArray("connections").stream()
        .map(o -> (JsonObject) o)
        .filter(e -> key.equals(e.getString("key")) && region.equals(e.getString("region")))
        .toList();
    assertThat(found).as("records of key %s in region %s", key, region).hasSize(1);
    return found.get(0);
  }

  private static JsonObject await(String what, Supplier<JsonObject> get,
      java.util.function.Predicate<JsonObject> done) {
    JsonObject last = null;
    for (int i = 0; i < 300; i++) { // 60 s at most
      last = get.get();
      if (done.test(last)) {
        return last;
      }
      sleep(200);
    }
    throw new AssertionError(what + ": still " + last);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
