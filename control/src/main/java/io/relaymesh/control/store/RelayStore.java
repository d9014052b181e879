package io.relaymesh.control.store;

import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.store.Model.Replica;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
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

  /** The region of an active relay token, or {@code null}. */
  public Future<Principal.Relay> authenticate(byte[] tokenHash) {
    return db.one("relays.authenticate",
            "SELECT t.id AS tid, t.token_hash, g.id AS gid, g.name FROM relay_tokens t "
            + "JOIN regions g ON g.id = t.region_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        Tuple.of(Buffer.buffer(tokenHash)),
        r -> Tokens.sameHash(tokenHash, r.getBuffer("token_hash").getBytes())
            ? new Principal.Relay(r.getLong("gid"), r.getString("name"), r.getLong("tid"))
            : null);
  }

  /**
   * Registers (or re-registers) a replica. A re-registration means the replica restarted, so
   * its stale presence records are dropped.
   */
  public Future<Void> register(long regionId, String replicaId, String publicUrl, String appsHost,
      String peerAddress, String version, String tlsFingerprint) {
    return db.tx("relays.register", c ->
        Db.exec(c, "DELETE FROM agent_presence WHERE region_id = $1 AND replica_id = $2",
                Tuple.of(regionId, replicaId))
            .compose(x -> Db.exec(c, "INSERT INTO relay_replicas (region_id, replica_id, public_url, "
                    + "apps_host, peer_address, version, tls_fingerprint) VALUES ($1, $2, $3, $4, "
                    + "$5, $6, $7) ON CONFLICT (region_id, replica_id) DO UPDATE SET "
                    + "public_url = $3, apps_host = $4, peer_address = $5, version = $6, "
                    + "tls_fingerprint = $7, registered_at = now(), last_heartbeat_at = now()",
                Tuple.of(regionId, replicaId, publicUrl, appsHost, peerAddress, version,
                    tlsFingerprint)))
            .mapEmpty());
  }

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

  /** Records a heartbeat; {@code false} when the replica is not registered. */
  public Future<Boolean> heartbeat(long regionId, String replicaId) {
    return db.exec("relays.heartbeat", "UPDATE relay_replicas SET last_heartbeat_at = now() "
            + "WHERE region_id = $1 AND replica_id = $2", Tuple.of(regionId, replicaId))
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
