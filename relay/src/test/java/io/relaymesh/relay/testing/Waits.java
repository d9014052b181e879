package io.relaymesh.relay.testing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Blocking helpers for tests (never called on an event loop). */
public final class Waits {
  private Waits() {}

  public static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new RuntimeException(e.getCause());
    } catch (Exception e) {
      throw new AssertionError("timed out or interrupted waiting 30s", e);
    }
  }

  /** The failure of a future that must fail. */
  public static Throwable failure(Future<?> f) {
    try {
      f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("timed out waiting for a failure", e);
    }
    throw new AssertionError("expected a failure, the future succeeded");
  }

  /** Runs {@code body} on {@code ctx} and returns its future. */
  public static <T> Future<T> on(Context ctx, Supplier<Future<T>> body) {
    Promise<T> p = Promise.promise();
    ctx.runOnContext(v -> {
      try {
        body.get().onComplete(p);
      } catch (Throwable t) {
        p.tryFail(t);
      }
    });
    return p.future();
  }

  /** Polls {@code condition} every 100 ms until it holds; fails after {@code max} (a safety net). */
  public static void until(String what, Duration max, Supplier<Boolean> condition) {
    long deadline = System.nanoTime() + max.toNanos();
    while (!Boolean.TRUE.equals(condition.get())) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("still not true after " + max.toSeconds() + "s: " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
