package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports agent presence and connection-log records to the control plane; never blocks the data
 * path.
 *
 * <p>Connection-log records wait in one bounded in-memory queue ({@link #MAX_QUEUED_RECORDS}
 * records, {@link #MAX_QUEUED_BYTES} bytes of JSON) for as long as the control plane is
 * unreachable, and are sent oldest first once it answers again: a control-plane outage (or a
 * PostgreSQL restart, answered 503) loses none of them unless the queue fills up; a record that
 * does not fit is dropped and counted by reason ({@code queue-full}, {@code queue-bytes}; a record
 * the control plane refuses as invalid: {@code refused}). The queue lives in memory: records of a
 * relay that is killed during an outage are lost with it.
 *
 * <p>A connection is recorded twice under one key (a UUID, {@link #opened}): when it is
 * established (no {@code endedAt}) and when it ends ({@link Opened#ended}); the control plane
 * creates the record of a key once and completes it in place, so a retry never duplicates a
 * record, and a relay killed with SIGKILL leaves the records of the connections it carried, open
 * (docs/api.md "Connection"). The two posts of a key are sent in order: a record whose key is
 * still being sent waits until that send is answered, while records up to {@link #LOOK_AHEAD}
 * places behind it go ahead. A completion whose create was not sent yet (a backlog) replaces
 * it: one post of the complete record. Each post takes one place in the queue bound.
 *
 * <p>Presence reports of one agent are sent one after the other, and a report that a newer one
 * supersedes is not sent (or no longer retried): otherwise a "connected" still being retried
 * while the control plane is unreachable could land after the "disconnected" that followed it,
 * and the control plane would route clients to a relay that no longer holds the agent.
 *
 * <p>Threading: thread-safe.
 */
public final class Reporter {

  private static final Logger LOG = LoggerFactory.getLogger(Reporter.class);
  /** A presence report is given up after this (a re-registration re-reports presence anyway). */
  static final Duration GIVE_UP = Duration.ofMinutes(30);
  static final Duration FIRST_RETRY = Duration.ofMillis(250);
  static final Duration MAX_RETRY = Duration.ofSeconds(10);

  private final ControlClient control;
  private final String replicaId;

  public Reporter(ControlClient control, String replicaId) {
    this(control, replicaId, MAX_QUEUED_RECORDS, MAX_QUEUED_BYTES);
  }

  /** With the connection-record queue bounded to {@code maxRecords} and {@code maxBytes} of JSON. */
  Reporter(ControlClient control, String replicaId, int maxRecords, long maxBytes) {
    this.control = control;
    this.replicaId = replicaId;
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
  }

  /** The presence reports of one agent: the newest report's number and the last in line. */
  private static final class PresenceChain {
    long latest;
    Future<Void> tail;
  }

  private final Map<Long, PresenceChain> presence = new HashMap<>(); // guarded by itself
  private volatile boolean deregistered;

  /**
   * Posts presence of {@code agentId} on this replica, after the agent's earlier reports; fails
   * when the report was given up or superseded by a newer one (code {@code superseded}).
   */
  public Future<Void> presence(long agentId, String agentDescription, boolean connected) {
    if (deregistered) {
      return Future.succeededFuture(); // the deregistration removed every presence row
    }
    Promise<Void> done = Promise.promise();
    PresenceChain chain;
    long number;
    Future<Void> previous;
    synchronized (presence) {
      chain = presence.computeIfAbsent(agentId, k -> new PresenceChain());
      number = ++chain.latest;
      previous = chain.tail == null ? Future.succeededFuture() : chain.tail;
      chain.tail = done.future().transform(x -> Future.succeededFuture());
    }
    previous.onComplete(x -> control.withRetry(() -> {
      synchronized (presence) {
        if (chain.latest != number) {
          return Future.<Void>failedFuture(new ControlException(409, "superseded",
              "presence of " + agentDescription + " (connected=" + connected
                  + ") superseded by a newer report"));
        }
      }
      return control.presence(replicaId, agentId, connected);
    }, FIRST_RETRY, MAX_RETRY, Instant.now().plus(GIVE_UP)).onComplete(ar -> {
      synchronized (presence) {
        if (chain.latest == number) {
          presence.remove(agentId, chain); // nothing newer is waiting
        }
      }
      if (ar.failed() && !(ar.cause() instanceof ControlException ce
          && "superseded".equals(ce.code()))) {
        // 404 agent_not_found: the workspace was deleted while its agent was connected, expected
        boolean gone = ar.cause() instanceof ControlException nf && nf.status() == 404
            && "agent_not_found".equals(nf.code());
        LOG.atLevel(gone ? org.slf4j.event.Level.INFO : org.slf4j.event.Level.WARN)
            .log("relay: presence of {} (connected={}) not reported: {}", agentDescription,
                connected, ar.cause().getMessage());
      }
      done.handle(ar);
    }));
    return done.future();
  }

  /**
   * The replica was deregistered (drain): presence is not reported any more (the control plane
   * dropped this replica's rows with it); connection records still are.
   */
  public void deregistered() {
    deregistered = true;
  }

  /**
   * Queues a connection-log record ({@code replicaId} is added) for the control plane; completes
   * with the record id once stored, or fails when the record was dropped (queue full, or refused
   * as invalid by the control plane). Never blocks.
   */
  public Future<Long> connection(JsonObject record) {
    JsonObject r = record.copy().put("replicaId", replicaId);
    Pending p = new Pending(r, r.encode().length());
    String dropped = null;
    synchronized (queue) {
      Pending create = p.key != null && p.completes ? unsentCreates.remove(p.key) : null;
      if (create != null) {
        // its create was never sent (the control plane is slow or away): post the complete
        // record once instead of twice; the create's place in the queue is kept
        queuedBytes += p.bytes - create.bytes;
        create.replaceWith(p);
        return create.done.future();
      }
      boolean full = queue.size() + inFlight >= maxRecords;
      if (full || queuedBytes + p.bytes > maxBytes) {
        dropped = full ? "queue-full" : "queue-bytes";
      } else {
        queue.addLast(p);
        queuedBytes += p.bytes;
        if (p.key != null && !p.completes) {
          unsentCreates.put(p.key, p);
        }
      }
    }
    if (dropped != null) {
      drop(p, dropped, "the queue of unsent records is full (" + maxRecords + " records / "
          + maxBytes + " bytes)");
      return p.done.future();
    }
    pump();
    return p.done.future();
  }

  /**
   * Records an established connection ({@code record}: who, {@code startedAt}, ...; a
   * {@code key} is added) and returns the handle that completes the same record when the
   * connection ends. Never blocks.
   */
  public Opened opened(JsonObject record) {
    JsonObject r = record.copy().put("key", UUID.randomUUID().toString());
    connection(r);
    return new Opened(r);
  }

  /** An established connection's record, completed once by {@link #ended}. */
  public final class Opened {
    private final JsonObject record;
    private boolean ended; // guarded by this

    private Opened(JsonObject record) {
      this.record = record;
    }

    /** The record's key (a UUID). */
    public String key() {
      return record.getString("key");
    }

    /**
     * Completes the record: the connection ended at {@code endedAt} having carried
     * {@code bytesIn} from the client and {@code bytesOut} to it; {@code closeReason} is cut to
     * 200 characters. Only the first call counts.
     */
    public Future<Long> ended(Instant endedAt, long bytesIn, long bytesOut, String closeReason) {
      synchronized (this) {
        if (ended) {
          return Future.failedFuture(new IllegalStateException("record " + key()
              + " already completed"));
        }
        ended = true;
      }
      String reason = closeReason == null || closeReason.length() <= 200 ? closeReason
          : closeReason.substring(0, 200);
      return connection(record.copy().put("endedAt", endedAt.toString())
          .put("bytesIn", bytesIn).put("bytesOut", bytesOut).put("closeReason", reason));
    }
  }

  /** Connection records waiting to be sent (or being sent). */
  public int pendingConnections() {
    synchronized (queue) {
      return queue.size() + inFlight;
    }
  }

  /** Connection records dropped so far, by reason ({@code queue-full}, {@code queue-bytes}, {@code refused}). */
  public Map<String, Long> droppedConnections() {
    synchronized (queue) {
      return Map.copyOf(dropped);
    }
  }

  /** Sees every dropped connection record (metrics: {@code reason} label). */
  public Reporter onDrop(java.util.function.Consumer<String> observer) {
    dropObserver = observer;
    return this;
  }

  /** Records currently queued or in flight: one connection-log record each. */
  private static final class Pending {
    JsonObject record; // guarded by queue while queued
    int bytes; // guarded by queue while queued
    /** The record's key, or null: the posts of one key are sent one after the other. */
    final String key;
    /** It carries {@code endedAt}: a completion (or a complete record). */
    boolean completes;
    final Promise<Long> done = Promise.promise();
    /** Completed with this one's id too: a completion merged into it. */
    private Promise<Long> merged;

    Pending(JsonObject record, int bytes) {
      this.record = record;
      this.bytes = bytes;
      this.key = record.getString("key");
      this.completes = record.getValue("endedAt") != null;
    }

    /** Becomes {@code completion} (same key), which is answered when this one is. */
    void replaceWith(Pending completion) {
      record = completion.record;
      bytes = completion.bytes;
      completes = true;
      merged = completion.done;
      done.future().onComplete(merged);
    }
  }

  /** Default bound of the record queue: 50,000 records (about 20 MB of JSON at most). */
  static final int MAX_QUEUED_RECORDS = 50_000;
  static final long MAX_QUEUED_BYTES = 32L << 20;
  /** Records sent at the same time (in queue order). */
  static final int MAX_IN_FLIGHT = 4;
  /** How far past the head {@link #pump} looks for a record whose key is free. */
  static final int LOOK_AHEAD = 16;

  private final int maxRecords;
  private final long maxBytes;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>(); // guarded by itself
  private long queuedBytes; // guarded by queue (in flight ones included)
  private int inFlight; // guarded by queue
  private final Set<String> keysInFlight = new HashSet<>(); // guarded by queue
  /** Queued creates not sent yet, by key: a completion replaces its create (one post). */
  private final Map<String, Pending> unsentCreates = new HashMap<>(); // guarded by queue
  private int failures; // guarded by queue: consecutive failed sends
  private boolean waiting; // guarded by queue: a backoff timer is pending
  private final Map<String, Long> dropped = new HashMap<>(); // guarded by queue
  private volatile java.util.function.Consumer<String> dropObserver = reason -> { };

  /**
   * Sends queued records, oldest first, up to {@link #MAX_IN_FLIGHT} at a time; after a failure
   * that is worth retrying (control plane unreachable, 5xx, 429) the record goes back to the head
   * of the queue and sending pauses for a jittered backoff (250 ms doubling to 10 s): records wait
   * for as long as the control plane is away, bounded only by the queue.
   */
  private void pump() {
    while (true) {
      Pending p;
      JsonObject record;
      synchronized (queue) {
        if (waiting || inFlight >= MAX_IN_FLIGHT || queue.isEmpty()) {
          return;
        }
        // the oldest record whose key has no post in flight (a completion must not overtake
        // its create); looking a few places ahead keeps one slow create from holding up others
        p = null;
        int looked = 0;
        for (java.util.Iterator<Pending> it = queue.iterator(); it.hasNext()
            && looked < LOOK_AHEAD; looked++) {
          Pending q = it.next();
          if (q.key == null || !keysInFlight.contains(q.key)) {
            it.remove();
            p = q;
            break;
          }
        }
        if (p == null) {
          return;
        }
        if (p.key != null) {
          keysInFlight.add(p.key);
          unsentCreates.remove(p.key, p);
        }
        inFlight++;
        record = p.record;
      }
      Future<Long> sent;
      try {
        sent = control.recordConnection(record);
      } catch (RuntimeException e) {
        sent = Future.failedFuture(e);
      }
      Pending posted = p;
      sent.onComplete(ar -> sent(posted, ar.succeeded() ? null : ar.cause(),
          ar.succeeded() ? ar.result() : null));
    }
  }

  private void sent(Pending p, Throwable error, Long id) {
    boolean retry = error != null && (!(error instanceof ControlException ce) || ce.retryable());
    long delay = 0;
    synchronized (queue) {
      inFlight--;
      if (p.key != null) {
        keysInFlight.remove(p.key);
      }
      if (error == null) {
        failures = 0;
        queuedBytes -= p.bytes;
      } else if (retry) {
        queue.addFirst(p); // in order: it goes out again before anything queued after it
        if (p.key != null && !p.completes) {
          unsentCreates.putIfAbsent(p.key, p); // a completion may still replace it (an upsert)
        }
        if (!waiting) {
          waiting = true;
          long cap = Math.min(MAX_RETRY.toMillis(), FIRST_RETRY.toMillis() << Math.min(failures, 20));
          delay = ControlClient.jitter(cap);
          if (failures++ % 30 == 0) {
            LOG.warn("relay: connection records not stored yet ({} waiting, retrying in {} ms): {}",
                queue.size() + inFlight, delay, error.getMessage());
          }
        }
      } else {
        queuedBytes -= p.bytes;
      }
    }
    if (error == null) {
      p.done.tryComplete(id);
      pump();
    } else if (!retry) {
      drop(p, "refused", error.getMessage());
      pump();
    } else if (delay > 0) {
      control.vertx().setTimer(delay, t -> {
        synchronized (queue) {
          waiting = false;
        }
        pump();
      });
    }
  }

  private void drop(Pending p, String reason, String why) {
    long n;
    synchronized (queue) {
      n = dropped.merge(reason, 1L, Long::sum);
    }
    dropObserver.accept(reason);
    if (n == 1 || n % 1000 == 0) {
      LOG.warn("relay: connection record of {} dropped ({}, {} so far): {}",
          p.record.getString("workspace"), reason, n, why);
    }
    p.done.tryFail(new ControlException(0, reason, "connection record dropped: " + why));
  }
}
