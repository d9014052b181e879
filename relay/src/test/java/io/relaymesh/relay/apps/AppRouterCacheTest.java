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
import java.util.concurrent.atomic.AtomicLong;
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

  /**
   * The shared-port HTTP bench saw one failed answer per wrk connection at once: every request
   * in flight when the 10 s resolution expired waited for the one control-plane call, and all of
   * them failed when it did. With refresh-ahead, an answer in use is asked for again before it
   * expires, lookups never wait, and a failed background call fails no lookup.
   */
  @Test
  void anAnswerInUseIsRefreshedAheadAndAFailedRefreshFailsNoLookup() {
    AtomicLong clock = new AtomicLong(0);
    AppsControlCache<String> cache = new AppsControlCache<>(100, true, clock::get);
    List<Promise<String>> calls = new ArrayList<>();
    java.util.function.Supplier<Future<String>> load = () -> {
      Promise<String> p = Promise.promise();
      calls.add(p);
      return p.future();
    };
    java.util.function.Function<io.vertx.core.AsyncResult<String>, Duration> ttl =
        ar -> ar.succeeded() ? Duration.ofSeconds(10)
            : ar.cause() instanceof ControlException ce && ce.status() == 404
                ? Duration.ofSeconds(3) : Duration.ZERO;
    Future<String> first = cache.get("app", load, ttl);
    calls.get(0).complete("v1");
    assertThat(await(first)).isEqualTo("v1");

    clock.set(seconds(6)); // past half its time: refreshed in the background
    List<Future<String>> during = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      during.add(cache.get("app", load, ttl));
    }
    assertThat(calls).as("one background call").hasSize(2);
    during.forEach(f -> assertThat(f.result()).as("answered without waiting").isEqualTo("v1"));
    calls.get(1).fail(new ControlException(0, "unavailable", "control plane timed out"));
    assertThat(cache.get("app", load, ttl).result()).as("a failed refresh fails no lookup")
        .isEqualTo("v1");
    assertThat(calls).as("no new call before the retry delay").hasSize(2);

    clock.set(seconds(7) + 1); // the retry delay is over: asked again, this time answered
    assertThat(cache.get("app", load, ttl).result()).isEqualTo("v1");
    assertThat(calls).hasSize(3);
    calls.get(2).complete("v2");

    clock.set(seconds(11)); // v1 would have expired: the refreshed answer is there already
    Future<String> after = cache.get("app", load, ttl);
    assertThat(after.isComplete()).as("no lookup waits at the old answer's expiry").isTrue();
    assertThat(after.result()).isEqualTo("v2");
    assertThat(calls).hasSize(3);

    clock.set(seconds(13)); // v2's refresh-ahead: the app was removed meanwhile
    assertThat(cache.get("app", load, ttl).result()).isEqualTo("v2");
    assertThat(calls).hasSize(4);
    calls.get(3).fail(new ControlException(404, "app_not_found", "no such app"));
    assertThat(failure(cache.get("app", load, ttl))).as("a refusal replaces the answer at once")
        .isInstanceOf(ControlException.class);
  }

  @Test
  void anAnswerIsNeverServedAfterItsTimeWhenTheRefreshKeepsFailing() {
    AtomicLong clock = new AtomicLong(0);
    AppsControlCache<String> cache = new AppsControlCache<>(100, true, clock::get);
    AtomicInteger calls = new AtomicInteger();
    java.util.function.Supplier<Future<String>> down = () -> {
      calls.incrementAndGet();
      return Future.failedFuture(new ControlException(0, "unavailable", "down"));
    };
    await(cache.get("app", () -> Future.succeededFuture("v1"), ar -> Duration.ofSeconds(10)));
    clock.set(seconds(6));
    assertThat(await(cache.get("app", down, ar -> ar.succeeded() ? Duration.ofSeconds(10)
        : Duration.ZERO))).isEqualTo("v1");
    assertThat(calls).hasValue(1);
    clock.set(seconds(10) + 1);
    assertThat(failure(cache.get("app", down, ar -> ar.succeeded() ? Duration.ofSeconds(10)
        : Duration.ZERO))).isInstanceOf(ControlException.class);
  }

  private static long seconds(long s) {
    return s * 1_000_000_000L;
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
