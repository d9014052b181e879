package io.relaymesh.control;

import io.relaymesh.control.store.ConnectionStore;
import io.relaymesh.control.store.Db;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends the open connection records of relay replicas whose heartbeat expired, with close reason
 * {@value ConnectionStore#RELAY_LOST} (docs/api.md "The connection log"): a relay killed with
 * SIGKILL never completes them itself. Runs every heartbeat interval (a third of the heartbeat
 * timeout, 1 s at least).
 *
 * <p>A missing heartbeat only means the relay is gone when this control plane could have
 * received it: after a control-plane outage, or while PostgreSQL was unreachable (heartbeats
 * answered 503), every relay's last heartbeat is old although the relays are fine. So records are
 * ended only once this process has reached the database at every tick for a whole heartbeat
 * timeout (relays retry failed heartbeats within one interval); a failed tick, or ticks that did
 * not run for three intervals (a stalled process), start that wait again.
 *
 * <p>A relay that was alive but could not reach the control plane for longer than the timeout
 * has its open records ended too; its own completions, sent when it reaches the control plane
 * again, replace the relay-lost end ({@link ConnectionStore#insert}).
 *
 * <p>Threading: {@link #tick} runs on a periodic timer; its state is guarded by {@code this}.
 */
final class RelayLossWatch {

  private static final Logger LOG = LoggerFactory.getLogger(RelayLossWatch.class);

  private final Db db;
  private final ConnectionStore connections;
  private final long timeoutSeconds;
  private final long timeoutNanos;
  private final long intervalMs;
  private final LongSupplier clock;
  private long timer = -1; // the start context only
  // guarded by this:
  /** Since when (clock) every tick reached the database; -1: not (yet). */
  private long reachableSince = -1;
  private long lastTick = -1;
  private boolean running;
  private int failures;

  RelayLossWatch(Db db, ConnectionStore connections, Duration heartbeatTimeout,
      LongSupplier nanoClock) {
    this.db = db;
    this.connections = connections;
    this.timeoutSeconds = Math.max(1, heartbeatTimeout.toSeconds());
    this.timeoutNanos = Duration.ofSeconds(timeoutSeconds).toNanos();
    this.intervalMs = interval(heartbeatTimeout).toMillis();
    this.clock = nanoClock;
  }

  /** How often relays heartbeat, and this watch looks: a third of the timeout, 1 s at least. */
  static Duration interval(Duration heartbeatTimeout) {
    return Duration.ofSeconds(Math.max(1, heartbeatTimeout.toSeconds() / 3));
  }

  void start(Vertx vertx) {
    tick();
    timer = vertx.setPeriodic(intervalMs, id -> tick());
  }

  void stop(Vertx vertx) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  /**
   * One look: a database ping while waiting, else ends the records of expired replicas.
   * Completes with the replicas whose records were ended (empty while waiting, or when a look
   * is still running).
   */
  Future<List<ConnectionStore.Lost>> tick() {
    long now = clock.getAsLong();
    boolean armed;
    synchronized (this) {
      if (running) {
        return Future.succeededFuture(List.of()); // a slow look: this tick is skipped
      }
      if (lastTick >= 0 && now - lastTick > 3 * intervalMs * 1_000_000L) {
        reachableSince = -1; // the process stalled: heartbeats may have gone unanswered meanwhile
      }
      lastTick = now;
      armed = reachableSince >= 0 && now - reachableSince >= timeoutNanos;
      running = true;
    }
    Future<List<ConnectionStore.Lost>> look;
    try {
      look = armed ? connections.endLostRelays(timeoutSeconds)
          : db.ping(Duration.ofMillis(Math.max(1000, intervalMs))).map(x -> List.of());
    } catch (RuntimeException e) {
      look = Future.failedFuture(e);
    }
    return look.andThen(ar -> {
      int failed;
      synchronized (this) {
        running = false;
        if (ar.failed()) {
          reachableSince = -1;
          failed = ++failures;
        } else {
          failures = 0;
          failed = 0;
          if (reachableSince < 0) {
            reachableSince = now;
          }
        }
      }
      if (ar.failed()) {
        if (failed % 30 == 1) {
          LOG.warn("connection log: could not look for relays that are gone ({} failed looks "
              + "in a row; relay-lost records wait until the database answered for {} s): {}",
              failed, timeoutSeconds, ar.cause().getMessage());
        }
        return;
      }
      for (ConnectionStore.Lost l : ar.result()) {
        LOG.info("relay replica {}/{}: no heartbeat since {} (timeout {} s): {} open connection "
            + "record(s) ended as {}", l.region(), l.replicaId(), l.lastHeartbeat(),
            timeoutSeconds, l.records(), ConnectionStore.RELAY_LOST);
      }
    });
  }
}
