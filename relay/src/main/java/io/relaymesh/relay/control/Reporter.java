package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports agent presence and connection-log records to the control plane, retrying with jittered
 * backoff for a while (a report is dropped with a warning after {@link #GIVE_UP}); never blocks
 * the data path.
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

  /** Posts presence of {@code agentId} on this replica. */
  public Future<Void> presence(long agentId, String agentDescription, boolean connected) {
    return control.withRetry(() -> control.presence(replicaId, agentId, connected), FIRST_RETRY,
        MAX_RETRY, Instant.now().plus(GIVE_UP))
        .onFailure(e -> LOG.warn("relay: presence of {} (connected={}) not reported: {}",
            agentDescription, connected, e.getMessage()));
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
