package io.relaymesh.control.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlServer;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.Http.Resp;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A control plane on port 0 for a test, plus helpers that drive it over HTTP and SQL. */
public final class Control implements AutoCloseable {

  public static final String ADMIN = "admin";
  public static final String PASSWORD = "correct horse battery";

  public final ControlServer server;
  public final Http http;
  public final PostgresTarget db;

  private Control(ControlServer server, PostgresTarget db) {
    this.server = server;
    this.http = new Http(server.url());
    this.db = db;
  }

  public static ControlConfig config(Path dataDir, String postgresUrl) {
    return ControlConfig.defaults().withListen("127.0.0.1:0").withDataDir(dataDir)
        .withPostgresUrl(postgresUrl);
  }

  public static Control start(ControlConfig config) {
    ControlServer s = ControlServer.run(config);
    return new Control(s, s.database());
  }

  /** A control plane on a fresh database of the shared embedded PostgreSQL. */
  public static Control startOnNewDatabase(Path dataDir) {
    return start(config(dataDir, SharedPostgres.url(SharedPostgres.newDatabase())));
  }

  /**
   * The config of a control plane on a fresh database of the shared embedded PostgreSQL, without
   * a built-in relay, whose relays must heartbeat within {@code heartbeatTimeout} (relay tests use
   * 3 s, so heartbeats come every second).
   */
  public static ControlConfig relayTestConfig(Path dataDir, java.time.Duration heartbeatTimeout) {
    ControlConfig d = config(dataDir, SharedPostgres.url(SharedPostgres.newDatabase()));
    return new ControlConfig(d.listen(), d.accessUrl(), d.dataDir(), d.postgresUrl(), false,
        d.sessionTtl(), d.ticketTtl(), heartbeatTimeout, d.keyRotation());
  }

  public static <T> T await(io.vertx.core.Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Creates the first admin through the setup endpoint and returns its session token. */
  public String setupAdmin() {
    Resp r = http.post("/api/v1/setup", null,
        new JsonObject().put("username", ADMIN).put("password", PASSWORD));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return login(ADMIN, PASSWORD);
  }

  public String login(String user, String password) {
    Resp r = http.post("/api/v1/login", null,
        new JsonObject().put("username", user).put("password", password));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json().getString("token");
  }

  /** Creates a non-admin user (as admin) and returns its session token. */
  public String createUser(String adminToken, String user) {
    Resp r = http.post("/api/v1/users", adminToken,
        new JsonObject().put("username", user).put("password", PASSWORD));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return login(user, PASSWORD);
  }

  /** Creates a workspace and returns the creation response. */
  public JsonObject createWorkspace(String token, String name) {
    Resp r = http.post("/api/v1/workspaces", token, new JsonObject().put("name", name));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json();
  }

  /** Creates a region and returns its relay token. */
  public String createRegion(String adminToken, String region) {
    Resp r = http.post("/api/v1/relays", adminToken, new JsonObject().put("region", region));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().getString("relayToken");
  }

  /**
   * A connection ticket from {@code POST /api/v1/tickets} (asserted 201): the whole answer;
   * {@code region} null asks for every relay.
   */
  public JsonObject ticket(String userToken, String workspace, int port, String region) {
    JsonObject body = new JsonObject().put("workspace", workspace).put("port", port);
    if (region != null) {
      body.put("region", region);
    }
    Resp r = http.post("/api/v1/tickets", userToken, body);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json();
  }

  /** {@code region/replicaId} of each relay holding the first agent of {@code workspace}. */
  public List<String> agentRelays(String token, String workspace) {
    io.vertx.core.json.JsonArray relays = http.get("/api/v1/workspaces/" + workspace, token)
        .json().getJsonArray("agents").getJsonObject(0).getJsonArray("relays");
    List<String> out = new java.util.ArrayList<>();
    relays.forEach(o -> out.add(((JsonObject) o).getString("region") + "/"
        + ((JsonObject) o).getString("replicaId")));
    return out;
  }

  public Connection jdbc() throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", db.user());
    if (db.password() != null) {
      p.setProperty("password", db.password());
    }
    return DriverManager.getConnection(db.jdbcUrl(), p);
  }

  public void sql(String statement) {
    try (Connection c = jdbc(); Statement st = c.createStatement()) {
      st.execute(statement);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public List<List<Object>> query(String q) {
    try (Connection c = jdbc(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(q)) {
      List<List<Object>> rows = new ArrayList<>();
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Content digest of every application table, to assert that a request changed nothing. */
  public Map<String, String> snapshot() {
    Map<String, String> out = new LinkedHashMap<>();
    for (List<Object> t : query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        + "AND tablename <> 'flyway_schema_history' ORDER BY tablename")) {
      String table = (String) t.get(0);
      Object digest = query("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' "
          + "ORDER BY x::text)), '') FROM " + table + " x").get(0).get(0);
      out.put(table, String.valueOf(digest));
    }
    return out;
  }

  @Override
  public void close() {
    server.stop();
  }
}
