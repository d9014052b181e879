package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.relay.control.ControlException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay's cache of control-plane app answers: single flight, TTLs, bounded size. */
@Timeout(30)
class AppRouterCacheTest {

  @Test
  void concurrentLookupsOfOneKeyShareOneCall() {
    AppsControlCache<String> cache = new AppsControlCache<>(100);
    AtomicInteger calls = new AtomicInteger();
    Promise<String> answer = Promise.promise();
    List<Future<String>> lookups = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      lookups.add(cache.get("app", () -> {
        calls.incrementAndGet();
        return answer.future();
      }, ar -> Duration.ofSeconds(10)));
    }
    assertThat(calls).hasValue(1);
    answer.complete("resolved");
    lookups.forEach(f -> assertThat(await(f)).isEqualTo("resolved"));
    assertThat(await(cache.get("app", () -> {
      calls.incrementAndGet();
      return Future.succeededFuture("again");
    }, ar -> Duration.ofSeconds(10)))).as("cached").isEqualTo("resolved");
    assertThat(calls).hasValue(1);
  }

  @Test
  void unkeptAnswersAreAskedForAgainAndRefusalsKeptBriefly() throws Exception {
    AppsControlCache<String> cache = new AppsControlCache<>(100);
    AtomicInteger calls = new AtomicInteger();
    // an unreachable control plane is not remembered
    for (int i = 0; i < 2; i++) {
      failure(cache.get("down", () -> {
        calls.incrementAndGet();
        return Future.failedFuture(new ControlException(0, "unavailable", "no answer"));
      }, ar -> ar.succeeded() ? Duration.ofSeconds(10) : Duration.ZERO));
    }
    assertThat(calls).hasValue(2);
    // a refusal is remembered for its (short) time, then asked again
    AtomicInteger refusals = new AtomicInteger();
    for (int i = 0; i < 2; i++) {
      failure(cache.get("nope", () -> {
        refusals.incrementAndGet();
        return Future.failedFuture(new ControlException(404, "app_not_found", "none"));
      }, ar -> Duration.ofMillis(200)));
    }
    assertThat(refusals).hasValue(1);
    Thread.sleep(300);
    failure(cache.get("nope", () -> {
      refusals.incrementAndGet();
      return Future.failedFuture(new ControlException(404, "app_not_found", "none"));
    }, ar -> Duration.ofMillis(200)));
    assertThat(refusals).hasValue(2);
  }

  @Test
  void sizeIsBounded() {
    AppsControlCache<String> cache = new AppsControlCache<>(50);
    for (int i = 0; i < 500; i++) {
      String key = "app-" + i;
      await(cache.get(key, () -> Future.succeededFuture(key), ar -> Duration.ofMinutes(1)));
    }
    assertThat(cache.size()).isLessThanOrEqualTo(51);
  }
}
