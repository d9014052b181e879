package io.relaymesh.control.store;

import io.relaymesh.control.store.Model.Connection;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.List;

/** The connection log. */
public final class ConnectionStore {

  private final Db db;

  public ConnectionStore(Db db) {
    this.db = db;
  }

  /**
   * Stores a connection record; completes with its id. With a {@code key}, the record of that key
   * (of the same region and replica) is created once and completed by later posts: a post that
   * brings {@code endedAt} sets the end, bytes and close reason of a record still open, and
   * anything posted again (a retry, a create arriving after its completion) changes nothing else.
   * Posts of one key therefore commute: the record ends up the same in any order.
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
            + "ended_at = COALESCE(connections.ended_at, EXCLUDED.ended_at), "
            + "bytes_in = CASE WHEN connections.ended_at IS NULL THEN EXCLUDED.bytes_in "
            + "ELSE connections.bytes_in END, "
            + "bytes_out = CASE WHEN connections.ended_at IS NULL THEN EXCLUDED.bytes_out "
            + "ELSE connections.bytes_out END, "
            + "close_reason = CASE WHEN connections.ended_at IS NULL THEN EXCLUDED.close_reason "
            + "ELSE connections.close_reason END "
            + "RETURNING id",
        Tuple.from(Arrays.asList(username, workspace, agent, port, app, region, replicaId,
            clientAddress, ticketId, startedAt, endedAt, bytesIn, bytesOut, closeReason, via,
            key)),
        r -> r.getLong("id"));
  }

  /** Newest first; {@code beforeId} pages backwards ({@code null} for the newest). */
  public Future<List<Connection>> list(int limit, Long beforeId) {
    return db.list("connections.list",
            "SELECT * FROM connections WHERE ($1::bigint IS NULL OR id < $1) "
        + "ORDER BY id DESC LIMIT $2", Tuple.of(beforeId, limit), Connection::of);
  }
}
