package io.relaymesh.relay.control;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Presence reports against a small HTTP server that records what the control plane stored. */
@Timeout(30)
class ReporterTest {

  Vertx vertx;
  HttpServer server;
  ControlClient client;
  Reporter reporter;
  /** Presence values in the order the "control plane" stored them. */
  final List<Boolean> stored = new CopyOnWriteArrayList<>();
  /** The first request is answered 503 (control plane briefly unavailable). */
  volatile boolean first = true;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(this::answer);
    int port = await(server.listen(0, "127.0.0.1")).actualPort();
    client = new ControlClient(vertx, "http://127.0.0.1:" + port, "rmr_test", Duration.ofSeconds(5));
    reporter = new Reporter(client, "r1");
  }

  @AfterEach
  void stop() {
    client.close();
    await(vertx.close());
  }

  private void answer(HttpServerRequest req) {
    boolean unavailable = first;
    first = false;
    req.body().onSuccess(b -> {
      if (unavailable) {
        req.response().setStatusCode(503).end();
        return;
      }
      stored.add(new JsonObject(b).getBoolean("connected"));
      req.response().setStatusCode(204).end();
    });
  }

  static final String AGENT = "agent 'main' of workspace 'alice/dev'";

  @Test
  void aReportStillBeingRetriedNeverOvertakesANewerOne() {
    Future<Void> connected = reporter.presence(7, AGENT, true); // 503, retried later
    Future<Void> disconnected = reporter.presence(7, AGENT, false);
    await(Future.join(connected, disconnected).recover(e -> Future.succeededFuture()));
    assertThat(stored).containsExactly(false);
    assertThat(connected.failed()).isTrue();
    assertThat(((ControlException) connected.cause()).code()).isEqualTo("superseded");
    assertThat(disconnected.succeeded()).isTrue();
  }

  @Test
  void onlyTheNewestOfReportsWaitingInLineIsSent() {
    Future<Void> a = reporter.presence(7, AGENT, true);
    Future<Void> b = reporter.presence(7, AGENT, false);
    Future<Void> c = reporter.presence(7, AGENT, true);
    await(Future.join(a, b, c).recover(e -> Future.succeededFuture()));
    assertThat(stored).containsExactly(true);
    assertThat(a.failed()).isTrue();
    assertThat(b.failed()).isTrue();
    assertThat(c.succeeded()).isTrue();
  }

  @Test
  void reportsOfDifferentAgentsDoNotWaitForEachOther() {
    first = false;
    await(reporter.presence(7, AGENT, true));
    await(reporter.presence(8, "agent 'main' of workspace 'bob/dev'", true));
    assertThat(stored).containsExactly(true, true);
  }
}
