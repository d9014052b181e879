package io.relaymesh.control.store;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.store.Model.Replica;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Regions, relay tokens, registered relay replicas (with health) and agent presence. */
public final class RelayStore {

  private static final String REPLICA_COLUMNS = "g.name AS region, r.replica_id, r.public_url, "
      + "r.apps_host, r.peer_address, r.tls_fingerprint, r.version, r.registered_at, "
      + "r.last_heartbeat_at, "
      + "(r.last_heartbeat_at > now() - $1::bigint * interval '1 second') AS healthy ";

  /** How stale {@code relay_tokens.last_used_at} may get (it is not written on every call). */
  public static final int LAST_USED_GRANULARITY_SECONDS = 15;

  private final Db db;
  private final long heartbeatTimeoutSeconds;

  public RelayStore(Db db, long heartbeatTimeoutSeconds) {
    this.db = db;
    this.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds;
  }

  public Future<Region> createRegion(String name, byte[] relayTokenHash) {
    return db.tx("relays.create-region", c ->
            Db.exec(c, "INSERT INTO regions (name) VALUES ($1) RETURNING id", Tuple.of(name))
                .compose(rows -> Db.exec(c, "INSERT INTO relay_tokens (region_id, token_hash) "
                    + "VALUES ($1, $2)", Tuple.of(rows.iterator().next().getLong("id"),
                    Buffer.buffer(relayTokenHash)))))
        .recover(Db.conflictOnDuplicate("region_exists", "region '" + name + "' already exists"))
        .compose(x -> find(name));
  }

  public Future<List<Region>> list() {
    return db.exec("relays.list", "SELECT g.id AS gid, g.name AS gname, g.created_at AS gcreated, "
            + REPLICA_COLUMNS + "FROM regions g LEFT JOIN relay_replicas r ON r.region_id = g.id "
            + "ORDER BY g.name, r.replica_id", Tuple.of(heartbeatTimeoutSeconds))
        .map(rows -> {
          Map<Long, Region> out = new LinkedHashMap<>();
          for (Row r : rows) {
            Region g = out.computeIfAbsent(r.getLong("gid"), id -> new Region(id,
                r.getString("gname"), Model.instant(r, "gcreated"), new ArrayList<>()));
            if (r.getString("replica_id") != null) {
              g.replicas().add(Replica.of(r));
            }
          }
          return new ArrayList<>(out.values());
        });
  }

  public Future<Region> find(String name) {
    return list().map(l -> l.stream().filter(g -> g.name().equals(name)).findFirst().orElse(null));
  }

  /** Deletes a region; its relay tokens, replicas and their presence records go with it. */
  public Future<Boolean> deleteRegion(String name) {
    return db.exec("relays.delete-region",
            "DELETE FROM regions WHERE name = $1", Tuple.of(name)).map(r -> r.rowCount() > 0);
  }

  /**
   * The region of an active relay token, or {@code null} for an unknown one; fails with
   * {@code 401 unauthenticated} "relay token revoked ..." for a revoked one (so that the relay's
   * operator sees why it is refused). Records the token's use at most every
   * {@value #LAST_USED_GRANULARITY_SECONDS} s.
   */
  public Future<Principal.Relay> authenticate(byte[] tokenHash) {
    return db.one("relays.authenticate",
            "SELECT t.id AS tid, t.token_hash, t.revoked_at, g.id AS gid, g.name, "
            + "(t.last_used_at IS NULL OR t.last_used_at < now() - "
            + LAST_USED_GRANULARITY_SECONDS + " * interval '1 second') AS stale "
            + "FROM relay_tokens t JOIN regions g ON g.id = t.region_id WHERE t.token_hash = $1",
        Tuple.of(Buffer.buffer(tokenHash)),
        r -> Tokens.sameHash(tokenHash, r.getBuffer("token_hash").getBytes())
            ? new Auth(new Principal.Relay(r.getLong("gid"), r.getString("name"), r.getLong("tid")),
                Model.instant(r, "revoked_at"), r.getBoolean("stale"))
            : null)
        .compose(a -> {
          if (a == null) {
            return Future.succeededFuture(null);
          }
          if (a.revokedAt() != null) {
            return Future.failedFuture(ControlException.unauthenticated("relay token revoked "
                + "(token " + a.relay().tokenId() + " of region '" + a.relay().region()
                + "', revoked at " + a.revokedAt() + "); give the relay a current token of the "
                + "region (relaymesh relays tokens list " + a.relay().region() + ")"));
          }
          if (!a.stale()) {
            return Future.succeededFuture(a.relay());
          }
          // bookkeeping only: a failure here does not refuse the relay
          return db.exec("relays.token-used", "UPDATE relay_tokens SET last_used_at = now() "
                  + "WHERE id = $1", Tuple.of(a.relay().tokenId()))
              .transform(x -> Future.succeededFuture(a.relay()));
        });
  }

  private record Auth(Principal.Relay relay, Instant revokedAt, boolean stale) {}

  /** The id of region {@code name}, or {@code null}. */
  public Future<Long> regionId(String name) {
    return db.one("relays.region-id", "SELECT id FROM regions WHERE name = $1", Tuple.of(name),
        r -> r.getLong("id"));
  }

  /** A new active relay token of region {@code regionId} (its hash stored). */
  public Future<RelayToken> createToken(long regionId, byte[] tokenHash) {
    return db.one("relays.create-token", "INSERT INTO relay_tokens (region_id, token_hash) "
            + "VALUES ($1, $2) RETURNING id, created_at", Tuple.of(regionId,
            Buffer.buffer(tokenHash)),
        r -> new RelayToken(r.getLong("id"), Model.instant(r, "created_at"), null, null,
            List.of()));
  }

  /**
   * The relay tokens of region {@code regionId}, oldest first, each with the healthy replicas
   * whose last registration or heartbeat used it.
   */
  public Future<List<RelayToken>> tokens(long regionId) {
    return db.list("relays.tokens", "SELECT t.id, t.created_at, t.revoked_at, t.last_used_at, "
            + "array_remove(array_agg(r.replica_id ORDER BY r.replica_id), NULL) AS replicas "
            + "FROM relay_tokens t LEFT JOIN relay_replicas r ON r.token_id = t.id "
            + "AND r.last_heartbeat_at > now() - $2::bigint * interval '1 second' "
            + "WHERE t.region_id = $1 GROUP BY t.id ORDER BY t.created_at, t.id",
        Tuple.of(regionId, heartbeatTimeoutSeconds), RelayToken::of);
  }

  /**
   * Revokes relay token {@code tokenId} of region {@code regionId} (a no-op when it is revoked
   * already). Refused with {@code 409 last_relay_token} when it is the region's last active
   * token, and unless {@code force} with {@code 409 relay_token_in_use} while healthy replicas
   * use it. {@code 404 relay_token_not_found} when the region has no such token.
   */
  public Future<Void> revokeToken(long regionId, String region, long tokenId, boolean force) {
    return db.tx("relays.revoke-token", c ->
        // the lock serializes concurrent revocations of one region's tokens
        Db.exec(c, "SELECT id, revoked_at FROM relay_tokens WHERE region_id = $1 ORDER BY id "
                + "FOR UPDATE", Tuple.of(regionId))
            .compose(rows -> {
              boolean found = false;
              boolean revoked = false;
              int otherActive = 0;
              for (Row r : rows) {
                boolean active = r.getValue("revoked_at") == null;
                if (r.getLong("id") == tokenId) {
                  found = true;
                  revoked = !active;
                } else if (active) {
                  otherActive++;
                }
              }
              if (!found) {
                throw ControlException.notFound("relay_token_not_found",
                    "relay token " + tokenId + " of region '" + region + "' not found");
              }
              if (revoked) {
                return Future.succeededFuture();
              }
              if (otherActive == 0) {
                throw ControlException.conflict("last_relay_token", "relay token " + tokenId
                    + " is the last active relay token of region '" + region + "': revoking it "
                    + "would cut off every relay of the region; create a new token first "
                    + "(relaymesh relays tokens create " + region + "), or delete the region "
                    + "(relaymesh relays delete " + region + ")");
              }
              if (force) {
                return revoke(c, tokenId);
              }
              return Db.exec(c, "SELECT replica_id FROM relay_replicas WHERE token_id = $1 AND "
                      + "last_heartbeat_at > now() - $2::bigint * interval '1 second' "
                      + "ORDER BY replica_id", Tuple.of(tokenId, heartbeatTimeoutSeconds))
                  .compose(inUse -> {
                    if (inUse.size() > 0) {
                      List<String> names = new ArrayList<>();
                      inUse.forEach(r -> names.add(r.getString("replica_id")));
                      throw ControlException.conflict("relay_token_in_use", "relay token "
                          + tokenId + " of region '" + region + "' is still used by healthy "
                          + "replica(s) " + String.join(", ", names) + "; restart them with the "
                          + "new token first (they move over at their next registration), or "
                          + "revoke anyway with force=true (relaymesh relays tokens revoke "
                          + region + " " + tokenId + " --force)");
                    }
                    return revoke(c, tokenId);
                  });
            }));
  }

  private static Future<Void> revoke(SqlConnection c, long tokenId) {
    return Db.exec(c, "UPDATE relay_tokens SET revoked_at = now() WHERE id = $1",
        Tuple.of(tokenId)).mapEmpty();
  }

  /**
   * A relay token as admins see it: never the token or its hash. {@code replicas}: the healthy
   * replicas whose last registration or heartbeat used it.
   */
  public record RelayToken(long id, Instant createdAt, Instant revokedAt, Instant lastUsedAt,
      List<String> replicas) {
    static RelayToken of(Row r) {
      String[] reps = r.getArrayOfStrings("replicas");
      return new RelayToken(r.getLong("id"), Model.instant(r, "created_at"),
          Model.instant(r, "revoked_at"), Model.instant(r, "last_used_at"),
          reps == null ? List.of() : List.of(reps));
    }

    public boolean active() {
      return revokedAt == null;
    }

    public JsonObject toJson() {
      JsonArray a = new JsonArray();
      replicas.forEach(a::add);
      return new JsonObject().put("id", id).put("createdAt", str(createdAt))
          .put("revokedAt", str(revokedAt)).put("lastUsedAt", str(lastUsedAt))
          .put("active", active()).put("replicas", a);
    }

    private static String str(Instant t) {
      return t == null ? null : t.toString();
    }
  }

  /**
   * Registers (or re-registers) a replica. A re-registration means the replica restarted, so
   * its stale presence records are dropped. {@code instanceId} names the relay process (a UUID
   * per start; {@code null} from relays that send none): when a replica registered with another
   * instance id registers again, the process that carried its connections is gone, and its open
   * connection records are ended as {@value ConnectionStore#RELAY_LOST} at that process's last
   * heartbeat (or at their start when later). A re-registration by the same process (a reloaded
   * certificate, a replica the control plane forgot) or without instance ids on both sides ends
   * nothing. Completes with what was ended ({@code null}: nothing).
   */
  public Future<Restart> register(long regionId, long tokenId, String replicaId, String publicUrl,
      String appsHost, String peerAddress, String version, String tlsFingerprint,
      String instanceId) {
    return db.tx("relays.register", c ->
        Db.exec(c, "SELECT g.name, r.instance_id, r.last_heartbeat_at FROM relay_replicas r "
                + "JOIN regions g ON g.id = r.region_id WHERE r.region_id = $1 "
                + "AND r.replica_id = $2 FOR UPDATE OF r", Tuple.of(regionId, replicaId))
            .compose(rows -> {
              Row old = rows.iterator().hasNext() ? rows.iterator().next() : null;
              String previous = old == null ? null : old.getString("instance_id");
              if (previous == null || instanceId == null || previous.equals(instanceId)) {
                return Future.succeededFuture((Restart) null);
              }
              java.time.OffsetDateTime lastHeartbeat = old.getOffsetDateTime("last_heartbeat_at");
              return Db.exec(c, ConnectionStore.END_LOST_OF_REPLICA,
                      Tuple.of(old.getString("name"), replicaId, lastHeartbeat))
                  .map(r -> new Restart(previous, lastHeartbeat.toInstant(), r.rowCount()));
            })
            .compose(restart -> Db.exec(c, "DELETE FROM agent_presence WHERE region_id = $1 "
                    + "AND replica_id = $2", Tuple.of(regionId, replicaId)).map(restart))
            .compose(restart -> Db.exec(c, "INSERT INTO relay_replicas (region_id, replica_id, "
                    + "public_url, apps_host, peer_address, version, tls_fingerprint, token_id, "
                    + "instance_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                    + "ON CONFLICT (region_id, replica_id) DO UPDATE SET "
                    + "public_url = $3, apps_host = $4, peer_address = $5, version = $6, "
                    + "tls_fingerprint = $7, token_id = $8, instance_id = $9, "
                    + "registered_at = now(), last_heartbeat_at = now()",
                Tuple.from(java.util.Arrays.asList(regionId, replicaId, publicUrl, appsHost,
                    peerAddress, version, tlsFingerprint, tokenId, instanceId))).map(restart)));
  }

  /**
   * A replica registered by a new process: the instance id of the one before, its last
   * heartbeat, and how many of its open connection records were ended as relay-lost.
   */
  public record Restart(String previousInstance, Instant lastHeartbeat, int recordsEnded) {}

  /**
   * Forgets a replica (graceful drain); its presence records go with it (cascade). {@code false}
   * when it was not registered.
   */
  public Future<Boolean> deregister(long regionId, String replicaId) {
    return db.exec("relays.deregister",
            "DELETE FROM relay_replicas WHERE region_id = $1 AND replica_id = $2",
        Tuple.of(regionId, replicaId)).map(r -> r.rowCount() > 0);
  }

  /** A registered replica of region {@code region} (healthy or not), or {@code null}. */
  public Future<Replica> replica(String region, String replicaId) {
    return db.one("relays.replica",
            "SELECT " + REPLICA_COLUMNS + "FROM relay_replicas r JOIN regions g "
            + "ON g.id = r.region_id WHERE g.name = $2 AND r.replica_id = $3",
        Tuple.of(heartbeatTimeoutSeconds, region, replicaId), Replica::of);
  }

  /**
   * Records a heartbeat made with relay token {@code tokenId}; {@code false} when the replica is
   * not registered.
   */
  public Future<Boolean> heartbeat(long regionId, long tokenId, String replicaId) {
    return db.exec("relays.heartbeat", "UPDATE relay_replicas SET last_heartbeat_at = now(), "
            + "token_id = $3 WHERE region_id = $1 AND replica_id = $2",
            Tuple.of(regionId, replicaId, tokenId))
        .map(r -> r.rowCount() > 0);
  }

  /** Whether the replica is registered. */
  public Future<Boolean> replicaExists(long regionId, String replicaId) {
    return db.one("relays.replica-exists",
            "SELECT 1 AS x FROM relay_replicas WHERE region_id = $1 AND replica_id = $2",
        Tuple.of(regionId, replicaId), r -> true).map(x -> x != null);
  }

  public Future<Void> agentConnected(long regionId, String replicaId, long agentId) {
    return db.exec("relays.agent-connected",
            "INSERT INTO agent_presence (agent_id, region_id, replica_id) "
            + "VALUES ($1, $2, $3) ON CONFLICT (agent_id, region_id, replica_id) "
            + "DO UPDATE SET connected_at = now()", Tuple.of(agentId, regionId, replicaId))
        .mapEmpty();
  }

  public Future<Void> agentDisconnected(long regionId, String replicaId, long agentId) {
    return db.exec("relays.agent-disconnected",
            "DELETE FROM agent_presence WHERE agent_id = $1 AND region_id = $2 "
        + "AND replica_id = $3", Tuple.of(agentId, regionId, replicaId)).mapEmpty();
  }

  /**
   * Registered replicas of every region counted by health: {@code [healthy, unhealthy]} (healthy:
   * a heartbeat within the heartbeat timeout). For the {@code relaymesh_control_relays} gauge.
   */
  public Future<long[]> healthCounts() {
    return db.one("relays.health-counts",
            "SELECT count(*) FILTER (WHERE last_heartbeat_at > now() - $1::bigint * interval "
            + "'1 second') AS healthy, count(*) AS total FROM relay_replicas",
        Tuple.of(heartbeatTimeoutSeconds), r -> new long[] {r.getLong("healthy"),
            r.getLong("total") - r.getLong("healthy")});
  }

  /** Healthy replicas currently holding a tunnel of the agent. */
  public Future<List<Replica>> replicasHolding(long agentId) {
    return db.list("relays.replicas-holding", "SELECT " + REPLICA_COLUMNS + "FROM agent_presence p "
            + "JOIN relay_replicas r ON r.region_id = p.region_id AND r.replica_id = p.replica_id "
            + "JOIN regions g ON g.id = r.region_id WHERE p.agent_id = $2 "
            + "AND r.last_heartbeat_at > now() - $1::bigint * interval '1 second' "
            + "ORDER BY g.name, r.replica_id",
        Tuple.of(heartbeatTimeoutSeconds, agentId), Replica::of);
  }
}
