package io.relaymesh.agent.tunnel;

import java.time.Duration;
import java.util.Random;

/**
 * Reconnect delays: capped exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): the n-th consecutive failure waits a uniformly random time in
 * {@code [0, min(max, min * 2^n)]}, so that many agents cut off by one relay restart do not
 * reconnect in lockstep. {@link #reset()} after a tunnel that lived long enough.
 *
 * <p>Not thread-safe: used on the agent's event loop.
 */
public final class Backoff {
  private final long minMillis;
  private final long maxMillis;
  private final Random random;
  private int failures;

  public Backoff(Duration min, Duration max, Random random) {
    this.minMillis = Math.max(1, min.toMillis());
    this.maxMillis = Math.max(minMillis, max.toMillis());
    this.random = random;
  }

  /** The ceiling of the next delay: {@code min(max, min * 2^failures)}. */
  public long ceilingMillis() {
    int shift = Math.min(failures, 40);
    long c = minMillis << shift;
    return c <= 0 || c > maxMillis ? maxMillis : c;
  }

  /** Delay before the next attempt after a failure; grows the ceiling for the one after. */
  public long nextDelayMillis() {
    long ceiling = ceilingMillis();
    failures++;
    return random.nextLong(ceiling + 1);
  }

  /**
   * Delay after the relay rejected the agent's credentials: at least half the cap, jittered, so a
   * revoked token costs the relay and the control plane about one attempt per
   * {@code max/2 .. max}, while a token that becomes valid again is picked up within {@code max}.
   */
  public long rejectedDelayMillis() {
    failures++;
    long half = maxMillis / 2;
    return half + random.nextLong(maxMillis - half + 1);
  }

  /** Delay before replacing a tunnel whose relay sent GOAWAY (drain): within {@code [0, min]}. */
  public long goAwayDelayMillis() {
    return random.nextLong(minMillis + 1);
  }

  /** Consecutive failures so far. */
  public int failures() {
    return failures;
  }

  /** The cap of the delays ({@code reconnect-max}). */
  public long maxMillis() {
    return maxMillis;
  }

  /** A backoff with the same delays and random source, and no failures yet. */
  public Backoff copy() {
    return new Backoff(java.time.Duration.ofMillis(minMillis), java.time.Duration.ofMillis(maxMillis), random);
  }

  public void reset() {
    failures = 0;
  }
}
