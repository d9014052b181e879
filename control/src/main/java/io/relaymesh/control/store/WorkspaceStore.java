package io.relaymesh.control.store;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.store.Model.Agent;
import io.relaymesh.control.store.Model.AgentIdentity;
import io.relaymesh.control.store.Model.Replica;
import io.relaymesh.control.store.Model.Workspace;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Workspaces, their agents, agent tokens and agent presence. */
public final class WorkspaceStore {

  private static final String SELECT = "SELECT w.id AS wid, w.owner_id, u.username AS owner, "
      + "w.name AS wname, w.created_at AS wcreated, a.id AS aid, a.name AS aname, "
      + "a.created_at AS acreated, "
      + "g.name AS region, r.replica_id, r.public_url, r.apps_host, r.peer_address, "
      + "r.tls_fingerprint, r.version, "
      + "r.registered_at, r.last_heartbeat_at, "
      + "(r.last_heartbeat_at > now() - $1::bigint * interval '1 second') AS healthy "
      + "FROM workspaces w JOIN users u ON u.id = w.owner_id "
      + "JOIN agents a ON a.workspace_id = w.id "
      + "LEFT JOIN agent_presence p ON p.agent_id = a.id "
      + "LEFT JOIN relay_replicas r ON r.region_id = p.region_id AND r.replica_id = p.replica_id "
      + "LEFT JOIN regions g ON g.id = r.region_id ";
  private static final String ORDER = " ORDER BY u.username, w.name, a.name, g.name, r.replica_id";

  private final Db db;
  private final long heartbeatTimeoutSeconds;

  public WorkspaceStore(Db db, long heartbeatTimeoutSeconds) {
    this.db = db;
    this.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds;
  }

  /** Creates a workspace with one agent and its token digest. */
  public Future<Workspace> create(long ownerId, String name, String agentName, byte[] agentTokenHash) {
    return db.tx("workspaces.create", c ->
            Db.exec(c, "INSERT INTO workspaces (owner_id, name) VALUES ($1, $2) RETURNING id",
                    Tuple.of(ownerId, name))
                .compose(rows -> {
                  long wid = rows.iterator().next().getLong("id");
                  return Db.exec(c, "INSERT INTO agents (workspace_id, name) VALUES ($1, $2) "
                      + "RETURNING id", Tuple.of(wid, agentName));
                })
                .compose(rows -> Db.exec(c, "INSERT INTO agent_tokens (agent_id, token_hash) "
                    + "VALUES ($1, $2)", Tuple.of(rows.iterator().next().getLong("id"),
                    Buffer.buffer(agentTokenHash)))))
        .recover(Db.conflictOnDuplicate("workspace_exists", "workspace '" + name
            + "' already exists"))
        .compose(x -> db.exec("workspaces.owner-name",
                "SELECT username FROM users WHERE id = $1", Tuple.of(ownerId)))
        .compose(rows -> find(rows.iterator().next().getString("username"), name));
  }

  /** Adds an agent with its token digest to a workspace. */
  public Future<Void> addAgent(Workspace ws, String agentName, byte[] agentTokenHash) {
    return db.tx("workspaces.add-agent", c ->
            Db.exec(c, "INSERT INTO agents (workspace_id, name) VALUES ($1, $2) RETURNING id",
                    Tuple.of(ws.id(), agentName))
                .compose(rows -> Db.exec(c, "INSERT INTO agent_tokens (agent_id, token_hash) "
                    + "VALUES ($1, $2)", Tuple.of(rows.iterator().next().getLong("id"),
                    Buffer.buffer(agentTokenHash)))))
        .recover(Db.conflictOnDuplicate("agent_exists", "agent '" + agentName
            + "' of workspace '" + ws.fullName() + "' already exists"))
        .mapEmpty();
  }

  public Future<List<Workspace>> listByOwner(long ownerId) {
    return db.exec("workspaces.list-by-owner", SELECT + "WHERE w.owner_id = $2" + ORDER,
        Tuple.of(heartbeatTimeoutSeconds, ownerId)).map(WorkspaceStore::assemble);
  }

  /** The workspace {@code owner/name}, or {@code null}. */
  public Future<Workspace> find(String owner, String name) {
    return db.exec("workspaces.find", SELECT + "WHERE u.username = $2 AND w.name = $3" + ORDER,
            Tuple.of(heartbeatTimeoutSeconds, owner, name))
        .map(rows -> {
          List<Workspace> l = assemble(rows);
          return l.isEmpty() ? null : l.get(0);
        });
  }

  /** Deletes a workspace; its agents, agent tokens and presence go with it. */
  public Future<Boolean> delete(long workspaceId) {
    return db.exec("workspaces.delete",
            "DELETE FROM workspaces WHERE id = $1", Tuple.of(workspaceId))
        .map(r -> r.rowCount() > 0);
  }

  /** What an active agent token identifies, or {@code null}. */
  public Future<AgentIdentity> agentByToken(byte[] tokenHash) {
    return db.one("workspaces.agent-by-token",
            "SELECT t.token_hash, a.id AS aid, a.name AS aname, w.id AS wid, w.name AS wname, "
            + "u.id AS uid, u.username FROM agent_tokens t JOIN agents a ON a.id = t.agent_id "
            + "JOIN workspaces w ON w.id = a.workspace_id JOIN users u ON u.id = w.owner_id "
            + "WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        Tuple.of(Buffer.buffer(tokenHash)),
        r -> io.relaymesh.control.auth.Tokens.sameHash(tokenHash, r.getBuffer("token_hash").getBytes())
            ? new AgentIdentity(r.getLong("aid"), r.getString("aname"), r.getLong("wid"),
                r.getString("wname"), r.getLong("uid"), r.getString("username"))
            : null);
  }

  /** Whether an agent with this id exists. */
  public Future<Boolean> agentExists(long agentId) {
    return db.one("workspaces.agent-exists",
            "SELECT 1 AS x FROM agents WHERE id = $1", Tuple.of(agentId), r -> true)
        .map(x -> x != null);
  }

  private static List<Workspace> assemble(RowSet<Row> rows) {
    Map<Long, Workspace> out = new LinkedHashMap<>();
    Map<Long, Agent> agents = new LinkedHashMap<>();
    for (Row r : rows) {
      long wid = r.getLong("wid");
      Workspace ws = out.computeIfAbsent(wid, id -> new Workspace(id, r.getLong("owner_id"),
          r.getString("owner"), r.getString("wname"), Model.instant(r, "wcreated"),
          new ArrayList<>()));
      long aid = r.getLong("aid");
      Agent agent = agents.computeIfAbsent(aid, id -> {
        Agent a = new Agent(id, r.getString("aname"), Model.instant(r, "acreated"),
            new ArrayList<>());
        ws.agents().add(a);
        return a;
      });
      if (r.getString("replica_id") != null && Boolean.TRUE.equals(r.getBoolean("healthy"))) {
        agent.connectedTo().add(Replica.of(r));
      }
    }
    return new ArrayList<>(out.values());
  }

  /** For callers that need a 404 with a clear message. */
  public static ControlException notFound(String owner, String name) {
    return ControlException.notFound("workspace_not_found",
        "workspace '" + owner + "/" + name + "' not found");
  }
}
