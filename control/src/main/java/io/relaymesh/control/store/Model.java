package io.relaymesh.control.store;

import io.relaymesh.control.apps.AppHost;
import io.relaymesh.control.apps.ShareLevel;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;

/** The control plane's entities as read from the database, with their JSON form. */
public final class Model {

  private Model() {}

  static Instant instant(Row row, String column) {
    OffsetDateTime t = row.getOffsetDateTime(column);
    return t == null ? null : t.toInstant();
  }

  private static String str(Instant t) {
    return t == null ? null : t.toString();
  }

  /** A user account; {@code passwordHash} never leaves the server. */
  public record User(long id, String username, boolean admin, Instant createdAt, String passwordHash) {
    static User of(Row r) {
      return new User(r.getLong("id"), r.getString("username"), r.getBoolean("is_admin"),
          instant(r, "created_at"), r.getString("password_hash"));
    }

    public JsonObject toJson() {
      return new JsonObject().put("username", username).put("admin", admin)
          .put("createdAt", str(createdAt));
    }

    /** Without the password hash: a logged or printed user must not carry it. */
    @Override
    public String toString() {
      return "User[id=" + id + ", username=" + username + ", admin=" + admin + ", createdAt="
          + createdAt + ", passwordHash=******]";
    }
  }

  /**
   * A relay replica as currently registered; {@code healthy} uses the database clock;
   * {@code tlsFingerprint} is the SHA-256 of its TLS leaf certificate ({@code ab:cd:...}) or
   * null, for peers that pin it.
   */
  public record Replica(String region, String replicaId, String publicUrl, String appsHost,
      String peerAddress, String version, Instant registeredAt, Instant lastHeartbeatAt,
      boolean healthy, String tlsFingerprint) {
    static Replica of(Row r) {
      return new Replica(r.getString("region"), r.getString("replica_id"),
          r.getString("public_url"), r.getString("apps_host"), r.getString("peer_address"),
          r.getString("version"), instant(r, "registered_at"), instant(r, "last_heartbeat_at"),
          r.getBoolean("healthy"), r.getString("tls_fingerprint"));
    }

    public JsonObject toJson() {
      return new JsonObject().put("region", region).put("replicaId", replicaId)
          .put("publicUrl", publicUrl).put("appsHost", appsHost).put("peerAddress", peerAddress)
          .put("tlsFingerprint", tlsFingerprint)
          .put("version", version).put("registeredAt", str(registeredAt))
          .put("lastHeartbeatAt", str(lastHeartbeatAt)).put("healthy", healthy);
    }
  }

  public record Agent(long id, String name, Instant createdAt, List<Replica> connectedTo) {
    public JsonObject toJson() {
      JsonArray relays = new JsonArray();
      connectedTo.forEach(r -> relays.add(r.toJson()));
      return new JsonObject().put("name", name).put("createdAt", str(createdAt))
          .put("connected", !connectedTo.isEmpty()).put("relays", relays);
    }
  }

  public record Workspace(long id, long ownerId, String owner, String name, Instant createdAt,
      List<Agent> agents) {
    public String fullName() {
      return owner + "/" + name;
    }

    public Agent agent(String agentName) {
      return agents.stream().filter(a -> a.name().equals(agentName)).findFirst().orElse(null);
    }

    public JsonObject toJson() {
      JsonArray a = new JsonArray();
      agents.forEach(x -> a.add(x.toJson()));
      return new JsonObject().put("owner", owner).put("name", name).put("fullName", fullName())
          .put("createdAt", str(createdAt)).put("agents", a);
    }
  }

  /** What an agent token identifies. */
  public record AgentIdentity(long agentId, String agent, long workspaceId, String workspace,
      long ownerId, String owner) {
    public JsonObject toJson() {
      return new JsonObject().put("agentId", agentId).put("agent", agent)
          .put("workspace", workspace).put("owner", owner)
          .put("fullName", owner + "/" + workspace);
    }
  }

  public record Region(long id, String name, Instant createdAt, List<Replica> replicas) {
    public boolean healthy() {
      return replicas.stream().anyMatch(Replica::healthy);
    }

    public JsonObject toJson() {
      JsonArray a = new JsonArray();
      replicas.forEach(x -> a.add(x.toJson()));
      return new JsonObject().put("region", name).put("createdAt", str(createdAt))
          .put("healthy", healthy()).put("replicas", a);
    }
  }

  /**
   * A shared port of an agent (docs/apps.md). {@code level} is stored; a port without a share
   * is open to its owner only.
   */
  public record Share(long agentId, long workspaceId, long ownerId, String owner,
      String workspace, String agent, int port, boolean https, ShareLevel level,
      Instant createdAt, Instant updatedAt) {
    static Share of(Row r) {
      return new Share(r.getLong("agent_id"), r.getLong("workspace_id"), r.getLong("owner_id"),
          r.getString("owner"), r.getString("workspace"), r.getString("agent"),
          r.getInteger("port"), r.getBoolean("https"), ShareLevel.parse(r.getString("level")),
          instant(r, "created_at"), instant(r, "updated_at"));
    }

    /** {@code owner/workspace}. */
    public String workspaceFullName() {
      return owner + "/" + workspace;
    }

    /** The app this share opens (names are valid: they were checked when created). */
    public AppHost app() {
      return new AppHost(port, https, agent, workspace, owner);
    }

    /** The share's URL under each apps host: {@code https://<label>.<appsHost>/}. */
    public List<String> urls(List<String> appsHosts) {
      return appsHosts.stream().map(h -> "https://" + app().host(h) + "/").toList();
    }

    /** The API form; {@code appsHosts}: the healthy relays' apps hosts, nearest first. */
    public JsonObject toJson(List<String> appsHosts) {
      JsonArray u = new JsonArray();
      urls(appsHosts).forEach(u::add);
      return new JsonObject().put("workspace", workspaceFullName()).put("agent", agent)
          .put("port", port).put("https", https).put("level", level.wireName())
          .put("app", app().label()).put("urls", u).put("createdAt", str(createdAt))
          .put("updatedAt", str(updatedAt));
    }
  }

  /** One entry of the connection log. */
  public record Connection(long id, String username, String workspace, String agent, Integer port,
      String app, String region, String replicaId, String clientAddress, String ticketId,
      Instant startedAt, Instant endedAt, long bytesIn, long bytesOut, String closeReason,
      Instant recordedAt, String via, String key) {
    static Connection of(Row r) {
      return new Connection(r.getLong("id"), r.getString("username"), r.getString("workspace"),
          r.getString("agent"), r.getInteger("port"), r.getString("app"), r.getString("region"),
          r.getString("replica_id"), r.getString("client_address"), r.getString("ticket_id"),
          instant(r, "started_at"), instant(r, "ended_at"), r.getLong("bytes_in"),
          r.getLong("bytes_out"), r.getString("close_reason"), instant(r, "recorded_at"),
          r.getString("via"), r.getString("record_key"));
    }

    public JsonObject toJson() {
      Long durationMs = startedAt != null && endedAt != null
          ? endedAt.toEpochMilli() - startedAt.toEpochMilli() : null;
      return new JsonObject().put("id", id).put("username", username).put("workspace", workspace)
          .put("agent", agent).put("port", port).put("app", app).put("region", region)
          .put("replicaId", replicaId).put("clientAddress", clientAddress)
          .put("ticketId", ticketId).put("startedAt", str(startedAt)).put("endedAt", str(endedAt))
          .put("durationMs", durationMs).put("bytesIn", bytesIn).put("bytesOut", bytesOut)
          .put("closeReason", closeReason).put("recordedAt", str(recordedAt)).put("via", via)
          .put("key", key);
    }
  }
}
