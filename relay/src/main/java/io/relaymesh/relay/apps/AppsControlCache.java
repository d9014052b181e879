package io.relaymesh.relay.apps;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A small time-bounded cache of control-plane answers with single flight: concurrent lookups of
 * one key share one call; each answer (success or failure) is kept for the duration
 * {@code ttl} gives it ({@link Duration#ZERO}: not kept, the next lookup calls again). At most
 * {@code maxEntries} keys: when full, expired entries go first, then any settled ones.
 *
 * <p>With {@code refreshAhead}, a kept successful answer is asked for again in the background
 * once half its time is over (by the first lookup after that; one call at a time, again at most
 * every {@link #RETRY_NANOS} after a failure), while lookups keep getting it at once: busy keys
 * never expire, so the requests in flight at an expiry no longer all wait for (and, when the
 * control plane is slow or briefly unreachable, all fail with) one call. A refusal (an answer
 * {@code ttl} keeps, e.g. a 4xx: the app is gone) replaces the answer at once; an answer is never
 * served after its own time is over.
 *
 * <p>Threading: thread-safe. The returned futures complete on the context of the lookup that
 * made the call; callers on other event loops hop back to their own context.
 */
final class AppsControlCache<V> {

  /** How long after a failed background refresh the next one may start. */
  static final long RETRY_NANOS = 1_000_000_000L;

  private static final class Entry<V> {
    final Future<V> future;
    volatile long expiresNanos = Long.MAX_VALUE; // pending: never expires
    volatile long refreshNanos; // refresh-ahead, of a success: from when a refresh may start
    final AtomicBoolean refreshing = new AtomicBoolean();

    Entry(Future<V> future) {
      this.future = future;
    }

    boolean usable(long now) {
      return !future.isComplete() || now - expiresNanos < 0;
    }
  }

  private final Map<String, Entry<V>> entries = new ConcurrentHashMap<>();
  private final int maxEntries;
  private final boolean refreshAhead;
  private final LongSupplier nanoTime;

  AppsControlCache(int maxEntries) {
    this(maxEntries, false, System::nanoTime);
  }

  /** {@code nanoTime}: the clock ({@link System#nanoTime}; tests move their own). */
  AppsControlCache(int maxEntries, boolean refreshAhead, LongSupplier nanoTime) {
    this.maxEntries = maxEntries;
    this.refreshAhead = refreshAhead;
    this.nanoTime = nanoTime;
  }

  /** The cached (or in-flight) answer for {@code key}, else a new one from {@code load}. */
  Future<V> get(String key, Supplier<Future<V>> load, Function<AsyncResult<V>, Duration> ttl) {
    for (int attempt = 0; attempt < 4; attempt++) {
      long now = nanoTime.getAsLong();
      Entry<V> current = entries.get(key);
      if (current != null && current.usable(now)) {
        if (refreshAhead && current.future.succeeded() && now - current.refreshNanos >= 0
            && current.refreshing.compareAndSet(false, true)) {
          refresh(key, current, load, ttl);
        }
        return current.future;
      }
      Promise<V> promise = Promise.promise();
      Entry<V> mine = new Entry<>(promise.future());
      boolean won = current == null ? entries.putIfAbsent(key, mine) == null
          : entries.replace(key, current, mine);
      if (!won) {
        continue; // someone else started a call for this key: use theirs
      }
      if (entries.size() > maxEntries) {
        evict(now);
      }
      call(load, ttl, (ar, keep) -> {
        if (keep == null) {
          entries.remove(key, mine);
        } else {
          kept(mine, ar.succeeded(), keep);
        }
        promise.handle(ar);
      });
      return mine.future;
    }
    return load.get(); // heavy contention on one key: do not loop forever
  }

  /**
   * Calls {@code load} and hands its result to {@code then} with how long to keep it, or null
   * when it is not kept.
   */
  private static <V> void call(Supplier<Future<V>> load, Function<AsyncResult<V>, Duration> ttl,
      java.util.function.BiConsumer<AsyncResult<V>, Duration> then) {
    Future<V> call;
    try {
      call = load.get();
    } catch (RuntimeException e) {
      call = Future.failedFuture(e);
    }
    call.onComplete(ar -> {
      Duration keep = ttl.apply(ar);
      then.accept(ar, keep == null || keep.isZero() || keep.isNegative() ? null : keep);
    });
  }

  private void kept(Entry<V> e, boolean success, Duration keep) {
    long now = nanoTime.getAsLong();
    if (refreshAhead && success) {
      e.refreshNanos = now + keep.toNanos() / 2;
    }
    e.expiresNanos = now + keep.toNanos();
  }

  /**
   * Asks for {@code current}'s answer again while lookups keep getting it: a new answer, or a
   * refusal {@code ttl} keeps, replaces it; a failure {@code ttl} does not keep (an unreachable
   * control plane) leaves it until its own expiry, and the next lookup after
   * {@link #RETRY_NANOS} tries again.
   */
  private void refresh(String key, Entry<V> current, Supplier<Future<V>> load,
      Function<AsyncResult<V>, Duration> ttl) {
    call(load, ttl, (ar, keep) -> {
      if (keep == null) {
        current.refreshNanos = nanoTime.getAsLong() + RETRY_NANOS;
        current.refreshing.set(false);
        return;
      }
      Entry<V> fresh = new Entry<>(ar.succeeded() ? Future.succeededFuture(ar.result())
          : Future.failedFuture(ar.cause()));
      kept(fresh, ar.succeeded(), keep);
      entries.replace(key, current, fresh); // unless it was forgotten or replaced meanwhile
    });
  }

  /** Forgets {@code key} (e.g. a refused cached credential). */
  void remove(String key) {
    entries.remove(key);
  }

  int size() {
    return entries.size();
  }

  private void evict(long now) {
    entries.values().removeIf(e -> e.future.isComplete() && now - e.expiresNanos >= 0);
    Iterator<Entry<V>> it = entries.values().iterator();
    while (entries.size() > maxEntries && it.hasNext()) {
      if (it.next().future.isComplete()) {
        it.remove();
      }
    }
  }
}
