package io.relaymesh.relay.apps;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A small time-bounded cache of control-plane answers with single flight: concurrent lookups of
 * one key share one call; each answer (success or failure) is kept for the duration
 * {@code ttl} gives it ({@link Duration#ZERO}: not kept, the next lookup calls again). At most
 * {@code maxEntries} keys: when full, expired entries go first, then any settled ones.
 *
 * <p>Threading: thread-safe. The returned futures complete on the context of the lookup that
 * made the call; callers on other event loops hop back to their own context.
 */
final class AppsControlCache<V> {

  private static final class Entry<V> {
    final Future<V> future;
    volatile long expiresNanos = Long.MAX_VALUE; // pending: never expires

    Entry(Future<V> future) {
      this.future = future;
    }

    boolean usable(long now) {
      return !future.isComplete() || now - expiresNanos < 0;
    }
  }

  private final Map<String, Entry<V>> entries = new ConcurrentHashMap<>();
  private final int maxEntries;

  AppsControlCache(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** The cached (or in-flight) answer for {@code key}, else a new one from {@code load}. */
  Future<V> get(String key, Supplier<Future<V>> load, Function<AsyncResult<V>, Duration> ttl) {
    for (int attempt = 0; attempt < 4; attempt++) {
      long now = System.nanoTime();
      Entry<V> current = entries.get(key);
      if (current != null && current.usable(now)) {
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
      Future<V> call;
      try {
        call = load.get();
      } catch (RuntimeException e) {
        call = Future.failedFuture(e);
      }
      call.onComplete(ar -> {
        Duration keep = ttl.apply(ar);
        if (keep == null || keep.isZero() || keep.isNegative()) {
          entries.remove(key, mine);
        } else {
          mine.expiresNanos = System.nanoTime() + keep.toNanos();
        }
        promise.handle(ar);
      });
      return mine.future;
    }
    return load.get(); // heavy contention on one key: do not loop forever
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
