package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports agent presence and connection-log records to the control plane, retrying with jittered
 * backoff for a while (a report is dropped with a warning after {@link #GIVE_UP}); never blocks
 * the data path.
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
  static final Duration GIVE_UP = Duration.ofMinutes(2);
  static final Duration FIRST_RETRY = Duration.ofMillis(250);
  static final Duration MAX_RETRY = Duration.ofSeconds(10);

  private final ControlClient control;
  private final String replicaId;

  public Reporter(ControlClient control, String replicaId) {
    this.control = control;
    this.replicaId = replicaId;
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
        LOG.warn("relay: presence of {} (connected={}) not reported: {}", agentDescription,
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

  /** Posts a connection-log record ({@code replicaId} is added). */
  public Future<Long> connection(JsonObject record) {
    JsonObject r = record.copy().put("replicaId", replicaId);
    return control.withRetry(() -> control.recordConnection(r), FIRST_RETRY, MAX_RETRY,
        Instant.now().plus(GIVE_UP))
        .onFailure(e -> LOG.warn("relay: connection record of {} not stored: {}",
            r.getString("workspace"), e.getMessage()));
  }
}
