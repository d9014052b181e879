package io.relaymesh.control.store;

import io.relaymesh.control.store.Model.Connection;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;

/** The connection log. */
public final class ConnectionStore {

  /** The close reason of a record the control plane ended because its relay is gone. */
  public static final String RELAY_LOST = "relay-lost";

  /**
   * Whether a post of an existing key replaces the record's end, bytes and close reason: while
   * the record is open (a create changes nothing then but the bytes, which it brings as 0), or
   * when it is a completion and the record was only ended as relay-lost by the control plane.
   */
  private static final String TAKES = "(connections.ended_at IS NULL "
      + "OR (connections.lost_at IS NOT NULL AND EXCLUDED.ended_at IS NOT NULL))";

  /**
   * Ends the open records of replica {@code $2} of region {@code $1} as relay-lost, at the
   * replica's last sign of life {@code $3} (or at the record's start when that is later).
   */
  static final String END_LOST_OF_REPLICA = "UPDATE connections SET "
      + "ended_at = GREATEST(started_at, $3), close_reason = '" + RELAY_LOST + "', "
      + "lost_at = now() WHERE region = $1 AND replica_id = $2 AND ended_at IS NULL";

  private final Db db;

  public ConnectionStore(Db db) {
    this.db = db;
  }

  /**
   * Stores a connection record; completes with its id. With a {@code key}, the record of that key
   * (of the same region and replica) is created once and completed by later posts: a post that
   * brings {@code endedAt} sets the end, bytes and close reason of a record still open, or of one
   * the control plane ended as {@value #RELAY_LOST} (the relay's own completion replaces that
   * guess), and anything posted again (a retry, a create arriving after its completion, a second
   * completion) changes nothing else. Posts of one key therefore commute: the record ends up the
   * same in any order.
   */
  public Future<Long> insert(String username, String workspace, String agent, Integer port,
      String app, String region, String replicaId, String clientAddress, String ticketId,
      OffsetDateTime startedAt, OffsetDateTime endedAt, long bytesIn, long bytesOut,
      String closeReason, String via, String key) {
    return db.one("connections.insert",
            "INSERT INTO connections (username, workspace, agent, port, app, region, "
            + "replica_id, client_address, ticket_id, started_at, ended_at, bytes_in, bytes_out, "
            + "close_reason, via, record_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            + "$11, $12, $13, $14, $15, $16) "
            + "ON CONFLICT (region, replica_id, record_key) DO UPDATE SET "
            + "ended_at = CASE WHEN " + TAKES + " THEN EXCLUDED.ended_at "
            + "ELSE connections.ended_at END, "
            + "bytes_in = CASE WHEN " + TAKES + " THEN EXCLUDED.bytes_in "
            + "ELSE connections.bytes_in END, "
            + "bytes_out = CASE WHEN " + TAKES + " THEN EXCLUDED.bytes_out "
            + "ELSE connections.bytes_out END, "
            + "close_reason = CASE WHEN " + TAKES + " THEN EXCLUDED.close_reason "
            + "ELSE connections.close_reason END, "
            + "lost_at = CASE WHEN " + TAKES + " THEN NULL ELSE connections.lost_at END "
            + "RETURNING id",
        Tuple.from(Arrays.asList(username, workspace, agent, port, app, region, replicaId,
            clientAddress, ticketId, startedAt, endedAt, bytesIn, bytesOut, closeReason, via,
            key)),
        r -> r.getLong("id"));
  }

  /** Open records of one replica ended as relay-lost by {@link #endLostRelays}. */
  public record Lost(String region, String replicaId, long records, Instant lastHeartbeat) {}

  /**
   * Ends as {@value #RELAY_LOST} the open records of every registered replica without a
   * heartbeat for {@code heartbeatTimeoutSeconds}: {@code ended_at} is the replica's last
   * heartbeat (the last time the control plane knew it alive), or the record's start when that
   * is later; the bytes stay 0 (not known). A replica that heartbeats while this runs is not
   * touched (its row is locked and checked again). Completes with the replicas whose records
   * were ended, none when there were none.
   */
  public Future<List<Lost>> endLostRelays(long heartbeatTimeoutSeconds) {
    return db.list("connections.end-lost",
        "WITH gone AS (SELECT g.name AS region, r.replica_id, r.last_heartbeat_at "
            + "FROM relay_replicas r JOIN regions g ON g.id = r.region_id "
            + "WHERE r.last_heartbeat_at < now() - $1::bigint * interval '1 second' "
            + "AND EXISTS (SELECT 1 FROM connections o WHERE o.ended_at IS NULL "
            + "AND o.region = g.name AND o.replica_id = r.replica_id) FOR SHARE OF r), "
            + "lost AS (UPDATE connections c SET "
            + "ended_at = GREATEST(c.started_at, gone.last_heartbeat_at), "
            + "close_reason = '" + RELAY_LOST + "', lost_at = now() FROM gone "
            + "WHERE c.ended_at IS NULL AND c.region = gone.region "
            + "AND c.replica_id = gone.replica_id "
            + "RETURNING c.region, c.replica_id, gone.last_heartbeat_at) "
            + "SELECT region, replica_id, count(*) AS n, max(last_heartbeat_at) AS heartbeat "
            + "FROM lost GROUP BY region, replica_id ORDER BY region, replica_id",
        Tuple.of(heartbeatTimeoutSeconds),
        r -> new Lost(r.getString("region"), r.getString("replica_id"), r.getLong("n"),
            Model.instant(r, "heartbeat")));
  }

  /** Newest first; {@code beforeId} pages backwards ({@code null} for the newest). */
  public Future<List<Connection>> list(int limit, Long beforeId) {
    return db.list("connections.list",
            "SELECT * FROM connections WHERE ($1::bigint IS NULL OR id < $1) "
        + "ORDER BY id DESC LIMIT $2", Tuple.of(beforeId, limit), Connection::of);
  }
}
