package io.relaymesh.relay.testing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Polling for tests that watch another process or the control plane (never on an event loop);
 * futures are awaited with the proxy module's {@code Await}.
 */
public final class Waits {
  private Waits() {}

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
