package io.relaymesh.relay.control;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The connection-record queue of {@link Reporter} against a small HTTP server standing in for the
 * control plane's {@code POST /relay/connections}, which is "down" (503, as while PostgreSQL
 * restarts) until the test lets it store.
 */
@Timeout(60)
class ReporterQueueTest {

  Vertx vertx;
  HttpServer server;
  ControlClient client;
  /** Record numbers ({@code n}) in the order the "control plane" stored them. */
  final List<Integer> stored = new CopyOnWriteArrayList<>();
  /** Keyed posts ({@code "<key> opened"} / {@code "<key> ended"}) in the order stored. */
  final List<String> keyed = new CopyOnWriteArrayList<>();
  final AtomicLong refusedWhileDown = new AtomicLong();
  volatile boolean down = true;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(this::answer);
    int port = await(server.listen(0, "127.0.0.1")).actualPort();
    client = new ControlClient(vertx, "http://127.0.0.1:" + port, "rmr_test", Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() {
    client.close();
    await(vertx.close());
  }

  private void answer(HttpServerRequest req) {
    req.body().onSuccess(b -> {
      if (down) {
        refusedWhileDown.incrementAndGet();
        req.response().setStatusCode(503).putHeader("Content-Type", "application/json")
            .end("{\"code\":\"database_unavailable\",\"message\":\"down\"}");
        return;
      }
      JsonObject r = new JsonObject(b);
      if (r.getString("key") != null) {
        // a keyed record: the create is stored slowly (a busy database), so that a completion
        // sent at the same time would be stored before it
        boolean end = r.getString("endedAt") != null;
        vertx.setTimer(end ? 1 : 300, t -> {
          keyed.add(r.getString("key") + (end ? " ended" : " opened"));
          req.response().setStatusCode(201).putHeader("Content-Type", "application/json")
              .end(new JsonObject().put("id", keyed.size()).encode());
        });
        return;
      }
      stored.add(r.getInteger("n"));
      req.response().setStatusCode(201).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("id", stored.size()).encode());
    });
  }

  private static JsonObject record(int n) {
    return new JsonObject().put("n", n).put("workspace", "alice/dev").put("agent", "main");
  }

  @Test
  void recordsWaitForTheControlPlaneAndArriveInOrder() {
    Reporter reporter = new Reporter(client, "r1");
    List<Future<Long>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add(reporter.connection(record(i)));
    }
    // a few retries are refused while "down", then it comes back
    Poll.waitFor(() -> refusedWhileDown.get() >= 3);
    assertThat(reporter.pendingConnections()).isEqualTo(200);
    down = false;
    await(Future.all(all));
    List<Integer> expected = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      expected.add(i);
    }
    // up to MAX_IN_FLIGHT are sent at a time, so neighbours may swap; none is missing or twice
    assertThat(stored).containsExactlyInAnyOrderElementsOf(expected);
    for (int i = 0; i < stored.size(); i++) {
      assertThat(Math.abs(stored.get(i) - i)).as("position of record %s", stored.get(i))
          .isLessThanOrEqualTo(2 * Reporter.MAX_IN_FLIGHT);
    }
    assertThat(reporter.pendingConnections()).isZero();
    assertThat(reporter.droppedConnections()).isEmpty();
  }

  @Test
  void aFullQueueDropsNewRecordsAndCountsThem() {
    List<String> seen = new CopyOnWriteArrayList<>();
    Reporter reporter = new Reporter(client, "r1", 10, 1 << 20).onDrop(seen::add);
    List<Future<Long>> all = new ArrayList<>();
    for (int i = 0; i < 15; i++) {
      all.add(reporter.connection(record(i)));
    }
    assertThat(reporter.droppedConnections()).isEqualTo(Map.of("queue-full", 5L));
    assertThat(seen).containsOnly("queue-full").hasSize(5);
    for (int i = 10; i < 15; i++) {
      assertThat(all.get(i).failed()).isTrue();
    }
    down = false;
    await(Future.join(all).recover(e -> Future.succeededFuture()));
    assertThat(stored).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
  }

  @Test
  void aCompletionNeverOvertakesItsCreate() {
    Reporter reporter = new Reporter(client, "r1");
    down = false;
    List<Future<Long>> all = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Reporter.Opened c = reporter.opened(record(i));
      keys.add(c.key());
      // ended at once: the completion is queued while its create is still being stored
      all.add(c.ended(java.time.Instant.now(), 10, 20, "client closed"));
    }
    await(Future.all(all));
    Poll.waitFor(() -> keyed.size() == 6);
    for (String k : keys) {
      assertThat(keyed).as("posts of %s in the order stored", k)
          .containsSubsequence(k + " opened", k + " ended");
    }
    assertThat(keys).doesNotHaveDuplicates();
    assertThat(reporter.pendingConnections()).isZero();
  }

  /**
   * Connections that open and end while the control plane is away are posted once each, complete
   * (their create was never sent), not twice: a backlog after an outage drains at one post per
   * connection.
   */
  @Test
  void aConnectionThatEndsBeforeItsCreateIsSentIsPostedOnceComplete() {
    Reporter reporter = new Reporter(client, "r1");
    List<Future<Long>> all = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      all.add(reporter.connection(record(i))); // unkeyed: they take the first sends and fail
    }
    Poll.waitFor(() -> refusedWhileDown.get() >= 1); // now backing off: new records only queue
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Reporter.Opened c = reporter.opened(record(100 + i));
      keys.add(c.key());
      all.add(c.ended(java.time.Instant.now(), 10, 20, "client closed"));
    }
    assertThat(reporter.pendingConnections()).isEqualTo(9);
    down = false;
    await(Future.all(all));
    Poll.waitFor(() -> keyed.size() == 3);
    assertThat(keyed).containsExactlyInAnyOrder(keys.get(0) + " ended", keys.get(1) + " ended",
        keys.get(2) + " ended");
    assertThat(reporter.pendingConnections()).isZero();
  }

  /** Bounded polling (the test's own timeout ends it at worst). */
  static final class Poll {
    static void waitFor(java.util.function.BooleanSupplier cond) {
      for (int i = 0; i < 400 && !cond.getAsBoolean(); i++) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      assertThat(cond.getAsBoolean()).as("condition within 20 s").isTrue();
    }
  }
}
