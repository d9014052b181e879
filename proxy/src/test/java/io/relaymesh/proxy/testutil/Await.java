package io.relaymesh.proxy.testutil;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Blocking helpers for tests (never called on an event loop). */
public final class Await {
  private Await() {}

  public static <T> T await(Future<T> f) {
    return await(f, 30);
  }

  public static <T> T await(Future<T> f, int seconds) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new RuntimeException(e.getCause());
    } catch (Exception e) {
      throw new AssertionError("timed out or interrupted waiting " + seconds + "s", e);
    }
  }

  /** Failure of a future that must fail. */
  public static Throwable failure(Future<?> f) {
    try {
      f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("timed out waiting for failure", e);
    }
    throw new AssertionError("expected failure, future succeeded");
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

  /** Polls {@code condition} on {@code ctx} until true (safety timeout 20 s). */
  public static void until(Context ctx, Supplier<Boolean> condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (Boolean.TRUE.equals(await(on(ctx, () -> Future.succeededFuture(condition.get()))))) {
        return;
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("condition not reached within 20 s");
  }
}
