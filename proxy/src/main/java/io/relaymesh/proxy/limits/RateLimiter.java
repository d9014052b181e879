package io.relaymesh.proxy.limits;

import java.util.function.LongSupplier;

/**
 * A token bucket: {@code ratePerSecond} tokens per second, bursts up to one second's worth.
 * Not thread-safe (one per session, event-loop only). The clock is injectable for tests.
 */
public final class RateLimiter {
  private static final long SECOND = 1_000_000_000L;
  private final long rate;
  private final LongSupplier nanoClock;
  private double tokens;
  private long last;

  public RateLimiter(int ratePerSecond, LongSupplier nanoClock) {
    if (ratePerSecond < 1) {
      throw new IllegalArgumentException("rate " + ratePerSecond);
    }
    this.rate = ratePerSecond;
    this.nanoClock = nanoClock;
    this.tokens = ratePerSecond;
    this.last = nanoClock.getAsLong();
  }

  /** Takes one token if available. */
  public boolean tryAcquire() {
    long now = nanoClock.getAsLong();
    long elapsed = now - last;
    if (elapsed > 0) {
      tokens = Math.min(rate, tokens + (double) elapsed * rate / SECOND);
      last = now;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }
}
