package io.relaymesh.relay.control;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cache against a small HTTP server speaking the control plane's agent-auth answers, with a
 * manual clock (no sleeping): what is cached, for how long, and that concurrent checks share one
 * request.
 */
@Timeout(30)
class AgentAuthCacheTest {

  Vertx vertx;
  HttpServer server;
  ControlClient client;
  final AtomicInteger requests = new AtomicInteger();
  final AtomicLong clock = new AtomicLong(1_000);
  volatile int status = 200;
  volatile Promise<Void> gate;
  AgentAuthCache cache;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(this::answer);
    int port = await(server.listen(0, "127.0.0.1")).actualPort();
    client = new ControlClient(vertx, "http://127.0.0.1:" + port, "rmr_test", Duration.ofSeconds(5));
    cache = new AgentAuthCache(client, Duration.ofSeconds(30), Duration.ofSeconds(5), clock::get);
  }

  @AfterEach
  void stop() {
    client.close();
    await(vertx.close());
  }

  private void answer(HttpServerRequest req) {
    requests.incrementAndGet();
    Future<Void> wait = gate == null ? Future.succeededFuture() : gate.future();
    req.body().compose(b -> wait).onSuccess(x -> {
      switch (status) {
        case 200 -> req.response().setStatusCode(200).end(new JsonObject().put("agentId", 7)
            .put("agent", "main").put("workspace", "dev").put("owner", "alice")
            .put("fullName", "alice/dev").encode());
        case 403 -> req.response().setStatusCode(403).end(new JsonObject()
            .put("code", "agent_token_invalid").put("message", "revoked").encode());
        default -> req.response().setStatusCode(status).end();
      }
    });
  }

  @Test
  void acceptedTokenIsCachedForTheTtlThenCheckedAgain() {
    assertThat(await(cache.authenticate("rma_a")).fullName()).isEqualTo("alice/dev");
    clock.addAndGet(Duration.ofSeconds(29).toNanos());
    assertThat(await(cache.authenticate("rma_a")).agentId()).isEqualTo(7);
    assertThat(requests.get()).isEqualTo(1);
    status = 403; // revoked meanwhile
    clock.addAndGet(Duration.ofSeconds(2).toNanos());
    ControlException e = (ControlException) failure(cache.authenticate("rma_a"));
    assertThat(e.status()).isEqualTo(403);
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void refusedTokenIsRememberedForTheNegativeTtl() {
    status = 403;
    assertThat(((ControlException) failure(cache.authenticate("rma_b"))).code())
        .isEqualTo("agent_token_invalid");
    clock.addAndGet(Duration.ofSeconds(4).toNanos());
    failure(cache.authenticate("rma_b"));
    assertThat(requests.get()).isEqualTo(1);
    status = 200;
    clock.addAndGet(Duration.ofSeconds(2).toNanos());
    assertThat(await(cache.authenticate("rma_b")).agent()).isEqualTo("main");
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void unavailableControlPlaneIsNotCached() {
    status = 503;
    ControlException e = (ControlException) failure(cache.authenticate("rma_c"));
    assertThat(e.retryable()).isTrue();
    assertThat(e.getMessage()).doesNotContain("rma_c");
    status = 200;
    assertThat(await(cache.authenticate("rma_c")).agentId()).isEqualTo(7);
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void concurrentChecksShareOneRequest() {
    gate = Promise.promise();
    List<Future<AgentIdentity>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(cache.authenticate("rma_d"));
    }
    vertx.setTimer(50, t -> gate.complete());
    for (Future<AgentIdentity> f : all) {
      assertThat(await(f).fullName()).isEqualTo("alice/dev");
    }
    assertThat(requests.get()).isEqualTo(1);
  }
}
