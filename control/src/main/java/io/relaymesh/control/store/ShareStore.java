package io.relaymesh.control.store;

import io.relaymesh.control.apps.ShareLevel;
import io.relaymesh.control.store.Model.Share;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import java.util.List;

/**
 * Port shares (docs/apps.md): which port of which agent is open to whom. Pure storage; the
 * policy (ownership, maximum level, low ports, name length) is {@code AppAccess}'s.
 */
public final class ShareStore {

  private static final String SELECT = "SELECT s.agent_id, s.port, s.https, s.level, "
      + "s.created_at, s.updated_at, a.name AS agent, w.id AS workspace_id, w.name AS workspace, "
      + "u.id AS owner_id, u.username AS owner FROM port_shares s "
      + "JOIN agents a ON a.id = s.agent_id JOIN workspaces w ON w.id = a.workspace_id "
      + "JOIN users u ON u.id = w.owner_id ";
  private static final String ORDER = " ORDER BY w.name, a.name, s.port";

  /**
   * What an app name points at: ids of the owner, workspace and agent ({@code null} from the
   * first part that does not exist on), and the port's share level ({@code null}: not shared).
   */
  public record Target(Long ownerId, Long workspaceId, Long agentId, ShareLevel level) {}

  private final Db db;

  public ShareStore(Db db) {
    this.db = db;
  }

  /** Shares port {@code port} of agent {@code agentId} (or changes its share); returns it. */
  public Future<Share> put(long agentId, int port, boolean https, ShareLevel level,
      long createdBy) {
    return db.exec("shares.put",
            "INSERT INTO port_shares (agent_id, port, https, level, created_by) "
            + "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, port) DO UPDATE "
            + "SET https = $3, level = $4, updated_at = now()",
            Tuple.of(agentId, port, https, level.wireName(), createdBy))
        .compose(x -> find(agentId, port));
  }

  /** Removes a share; {@code false} when the port was not shared. */
  public Future<Boolean> delete(long agentId, int port) {
    return db.exec("shares.delete", "DELETE FROM port_shares WHERE agent_id = $1 AND port = $2",
        Tuple.of(agentId, port)).map(r -> r.rowCount() > 0);
  }

  /** The share of a port, or {@code null} when it is not shared. */
  public Future<Share> find(long agentId, int port) {
    return db.one("shares.find",
            SELECT + "WHERE s.agent_id = $1 AND s.port = $2", Tuple.of(agentId, port),
        Share::of);
  }

  /**
   * Looks up owner, workspace, agent and the port's share in one query; {@code null} when the
   * owner does not exist. The level is capped at the current maximum share level, so that a
   * share made before the maximum was lowered cannot exceed it.
   */
  public Future<Target> target(String owner, String workspace, String agent, int port) {
    return db.one("shares.target", "SELECT u.id AS uid, w.id AS wid, a.id AS aid, s.level, "
            + "(SELECT value FROM settings WHERE key = 'max_share_level') AS max_level "
            + "FROM users u LEFT JOIN workspaces w ON w.owner_id = u.id AND w.name = $2 "
            + "LEFT JOIN agents a ON a.workspace_id = w.id AND a.name = $3 "
            + "LEFT JOIN port_shares s ON s.agent_id = a.id AND s.port = $4 "
            + "WHERE u.username = $1", Tuple.of(owner, workspace, agent, port),
        r -> {
          String l = r.getString("level");
          ShareLevel level = l == null ? null : ShareLevel.parse(l);
          String max = r.getString("max_level");
          if (level != null && max != null && level.compareTo(ShareLevel.parse(max)) > 0) {
            level = ShareLevel.parse(max);
          }
          return new Target(r.getLong("uid"), r.getLong("wid"), r.getLong("aid"), level);
        });
  }

  /** Every share of the workspaces of {@code ownerId}. */
  public Future<List<Share>> listByOwner(long ownerId) {
    return db.list("shares.list-by-owner",
            SELECT + "WHERE u.id = $1" + ORDER, Tuple.of(ownerId), Share::of);
  }

}
