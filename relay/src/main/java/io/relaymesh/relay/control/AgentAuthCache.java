package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Agent-token checks against the control plane, cached briefly: an accepted token for
 * {@code ttl} (so a revoked token stops working within it), a refused one for
 * {@code negativeTtl}; a failure to reach the control plane (no answer, 5xx) for
 * {@code unavailableTtl} (the relay: {@link #UNAVAILABLE_TTL}; zero: not cached), so that a
 * reconnect storm during an outage costs one request per token and period, not one per attempt.
 * Concurrent checks of the same token share one request. Keys are SHA-256 digests: the cache
 * holds no tokens.
 *
 * <p>Threading: thread-safe; futures complete on the context of the request that fetched.
 */
public final class AgentAuthCache {

  /**
   * Entries above this count make a lookup sweep the expired ones, at most once per
   * {@link #SWEEP_EVERY} (a relay holding more live tokens than this must not scan them all on
   * every miss).
   */
  static final int SWEEP_THRESHOLD = 10_000;
  static final Duration SWEEP_EVERY = Duration.ofSeconds(1);
  /** How long the relay remembers that the control plane could not say (per token). */
  public static final Duration UNAVAILABLE_TTL = Duration.ofSeconds(1);

  private record Entry(Future<AgentIdentity> answer, long expiresAtNanos) {}

  private final ControlClient control;
  private final long ttlNanos;
  private final long negativeTtlNanos;
  private final long unavailableTtlNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong nextSweep =
      new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);

  public AgentAuthCache(ControlClient control, Duration ttl, Duration negativeTtl,
      Duration unavailableTtl, LongSupplier nanoClock) {
    this.control = control;
    this.ttlNanos = ttl.toNanos();
    this.negativeTtlNanos = negativeTtl.toNanos();
    this.unavailableTtlNanos = unavailableTtl.toNanos();
    this.nanoClock = nanoClock;
  }

  /** Without caching "the control plane cannot say". */
  public AgentAuthCache(ControlClient control, Duration ttl, Duration negativeTtl,
      LongSupplier nanoClock) {
    this(control, ttl, negativeTtl, Duration.ZERO, nanoClock);
  }

  public AgentAuthCache(ControlClient control, Duration ttl, Duration negativeTtl,
      Duration unavailableTtl) {
    this(control, ttl, negativeTtl, unavailableTtl, System::nanoTime);
  }

  public AgentAuthCache(ControlClient control, Duration ttl, Duration negativeTtl) {
    this(control, ttl, negativeTtl, Duration.ZERO, System::nanoTime);
  }

  /**
   * Who {@code token} belongs to. Fails with a {@link ControlException}: status 403
   * ({@code agent_token_invalid}) for a revoked or unknown token, status 0 or 5xx when the control
   * plane cannot say.
   */
  public Future<AgentIdentity> authenticate(String token) {
    String key = digest(token);
    long now = nanoClock.getAsLong();
    Entry e = entries.get(key);
    if (e != null && (!e.answer().isComplete() || now - e.expiresAtNanos() < 0)) {
      return e.answer();
    }
    long sweepAt = nextSweep.get();
    if (entries.size() > SWEEP_THRESHOLD && (sweepAt == Long.MIN_VALUE || now - sweepAt >= 0)
        && nextSweep.compareAndSet(sweepAt, now + SWEEP_EVERY.toNanos())) {
      entries.values().removeIf(x -> x.answer().isComplete() && now - x.expiresAtNanos() >= 0);
    }
    Promise<AgentIdentity> promise = Promise.promise();
    Future<AgentIdentity> answer = promise.future();
    Entry pending = new Entry(answer, Long.MAX_VALUE);
    Entry winner = entries.compute(key, (k, old) ->
        old != null && (!old.answer().isComplete() || now - old.expiresAtNanos() < 0)
            ? old : pending);
    if (winner != pending) {
      return winner.answer(); // another caller is fetching or has just fetched
    }
    control.agentAuth(token).onComplete(promise);
    answer.onComplete(ar -> {
      long at = nanoClock.getAsLong();
      if (ar.succeeded()) {
        entries.replace(key, pending, new Entry(answer, at + ttlNanos));
      } else if (ar.cause() instanceof ControlException ce && ce.status() == 403) {
        entries.replace(key, pending, new Entry(answer, at + negativeTtlNanos));
      } else if (unavailableTtlNanos > 0) {
        entries.replace(key, pending, new Entry(answer, at + unavailableTtlNanos));
      } else {
        entries.remove(key, pending);
      }
    });
    return answer;
  }

  /** Cached entries (tests, metrics). */
  public int size() {
    return entries.size();
  }

  private static String digest(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
