package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.CliRunner.Result;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's login, whoami, logout, workspaces and relays commands against a real control plane. */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class CliCommandsTest {

  static Control c;
  static String url;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    String admin = c.setupAdmin();
    c.createUser(admin, "alice");
    url = c.server.url();
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static void assertOneLineError(Result r, int exit, String message) {
    assertThat(r.exit()).as(r.toString()).isEqualTo(exit);
    assertThat(r.err()).as(r.toString()).isEqualTo("relaymesh: " + message + "\n");
  }

  @Test
  void loginStoresAPrivateCredentialsFileAndWhoamiLogoutUseIt(@TempDir Path config) throws Exception {
    CliRunner cli = new CliRunner(config.resolve("relaymesh"));
    Result login = cli.run(Control.PASSWORD + "\n", "login", url, "--username", "alice",
        "--password-stdin");
    assertThat(login.exit()).as(login.toString()).isZero();
    assertThat(login.out()).isEqualTo("logged in to " + url + " as alice\n");
    Path file = config.resolve("relaymesh/credentials.json");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
        .isEqualTo("rwx------");
    String token = new JsonObject(Files.readString(file)).getString("token");
    assertThat(token).startsWith("rms_");

    assertThat(cli.run(null, "whoami").out()).isEqualTo("alice at " + url + "\n");
    JsonObject json = new JsonObject(cli.run(null, "whoami", "-o", "json").out());
    assertThat(json.getString("username")).isEqualTo("alice");

    Result logout = cli.run(null, "logout");
    assertThat(logout.exit()).isZero();
    assertThat(file).doesNotExist();
    // the session is revoked on the server, not just forgotten locally
    assertThat(c.http.get("/api/v1/me", token).status()).isEqualTo(401);
    assertOneLineError(cli.run(null, "whoami"), 1, "not logged in (no " + file
        + "); run 'relaymesh login URL' first");

    // --token logs in with an existing session token
    String t = c.login("alice", Control.PASSWORD);
    assertThat(cli.run(null, "login", url, "--token", t).exit()).isZero();
    assertThat(cli.run(null, "whoami").out()).startsWith("alice at");
  }

  @Test
  void loginErrorsAreOneClearLine(@TempDir Path config) throws Exception {
    CliRunner cli = new CliRunner(config);
    assertOneLineError(cli.run("wrong password\n", "login", url, "-u", "alice", "--password-stdin"),
        1, "wrong username or password");
    assertThat(config.resolve("credentials.json")).doesNotExist();
    assertOneLineError(cli.run(null, "login", url, "-u", "alice"), 1,
        "no terminal to prompt for the password; use --password-stdin or --token");
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    assertOneLineError(cli.run("x\n", "login", "http://127.0.0.1:" + closed, "-u", "alice",
        "--password-stdin"), 1, "cannot reach the control plane at http://127.0.0.1:" + closed
        + ": connection refused");
    Result usage = cli.run(null, "login");
    assertThat(usage.exit()).isEqualTo(2);
    assertThat(usage.err()).startsWith("relaymesh: Missing required parameter: 'URL'");
    assertThat(usage.err().lines().count()).isEqualTo(1);
    Result verbose = cli.run("wrong password\n", "login", url, "-u", "alice", "--password-stdin",
        "--verbose");
    assertThat(verbose.err()).contains("at io.relaymesh.cli.ControlClient");
  }

  @Test
  void workspacesCreateListDelete(@TempDir Path config) throws Exception {
    CliRunner cli = new CliRunner(config);
    assertThat(cli.run(Control.PASSWORD + "\n", "login", url, "-u", "alice", "--password-stdin")
        .exit()).isZero();
    Result created = cli.run(null, "workspaces", "create", "dev");
    assertThat(created.exit()).as(created.toString()).isZero();
    String[] lines = created.out().split("\n");
    assertThat(lines[0]).isEqualTo("created workspace alice/dev with agent 'main'");
    assertThat(lines[1]).startsWith("agent token (shown only once): rma_");
    String token = lines[1].substring(lines[1].indexOf("rma_"));
    assertThat(lines[3]).isEqualTo("  relaymesh agent --url " + url + " --token " + token);
    cli.run(null, "workspaces", "create", "second-one", "--agent", "gpu");

    Result dup = cli.run(null, "workspaces", "create", "dev");
    assertOneLineError(dup, 1, "workspace 'alice/dev' already exists");

    Result list = cli.run(null, "workspaces", "list");
    assertThat(list.out().lines().toList()).hasSize(3);
    assertThat(list.out().lines().findFirst().orElseThrow())
        .matches("WORKSPACE +AGENTS +RELAYS +CREATED");
    assertThat(list.out()).contains("alice/dev ", "main (offline)", "alice/second-one", "gpu (offline)");
    assertThat(list.out().lines().skip(1)).allMatch(l -> l.matches(".*\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"));
    int col = list.out().lines().findFirst().orElseThrow().indexOf("AGENTS");
    list.out().lines().skip(1).forEach(l -> assertThat(l.charAt(col - 1)).isEqualTo(' '));
    list.out().lines().skip(1).forEach(l -> assertThat(l.charAt(col)).isNotEqualTo(' '));
    JsonArray json = new JsonArray(cli.run(null, "workspaces", "list", "-o", "json").out());
    assertThat(json.size()).isEqualTo(2);
    assertThat(json.getJsonObject(0).getString("fullName")).isEqualTo("alice/dev");
    assertThat(json.encode()).doesNotContain(token);
    // the default format comes from cli.output (RELAYMESH_CLI_OUTPUT); -o wins over it
    JsonArray byEnv = new JsonArray(cli.runWithEnv(java.util.Map.of("RELAYMESH_CLI_OUTPUT", "json"),
        null, "workspaces", "list").out());
    assertThat(byEnv.size()).isEqualTo(2);
    assertThat(cli.runWithEnv(java.util.Map.of("RELAYMESH_CLI_OUTPUT", "json"), null,
        "workspaces", "list", "-o", "table").out()).startsWith("WORKSPACE ");

    assertThat(cli.run(null, "workspaces", "delete", "dev").out())
        .isEqualTo("deleted workspace alice/dev; its agent tokens are revoked\n");
    assertOneLineError(cli.run(null, "workspaces", "delete", "dev"), 1,
        "workspace 'alice/dev' not found");
    assertOneLineError(cli.run(null, "workspaces", "delete", "admin/secret"), 1,
        "workspace 'admin/secret' not found");
    assertThat(c.query("SELECT count(*) FROM agent_tokens t JOIN agents a ON a.id = t.agent_id "
        + "JOIN workspaces w ON w.id = a.workspace_id WHERE w.name = 'dev'").get(0).get(0))
        .isEqualTo(0L);
  }

  @Test
  void relaysCreateListDeleteForAdminsOnly(@TempDir Path config) throws Exception {
    CliRunner admin = new CliRunner(config.resolve("admin"));
    CliRunner alice = new CliRunner(config.resolve("alice"));
    admin.run(Control.PASSWORD + "\n", "login", url, "-u", Control.ADMIN, "--password-stdin");
    alice.run(Control.PASSWORD + "\n", "login", url, "-u", "alice", "--password-stdin");

    Result created = admin.run(null, "relays", "create", "eu-west");
    assertThat(created.exit()).as(created.toString()).isZero();
    String token = created.out().lines().filter(l -> l.startsWith("relay token"))
        .findFirst().orElseThrow().replaceAll(".*: ", "");
    assertThat(token).startsWith("rmr_");
    assertThat(created.out()).contains("relaymesh relay --control-url " + url + " --token "
        + token + " --region eu-west");
    assertOneLineError(alice.run(null, "relays", "create", "us"), 1, "user 'alice' is not an admin");

    // a replica registers (as a relay would) and shows up healthy; its URL does not answer
    c.http.post("/api/v1/relay/register", token, new JsonObject().put("replicaId", "r1")
        .put("publicUrl", "http://127.0.0.1:9"));
    Result list = alice.run(null, "relays", "list");
    assertThat(list.exit()).isZero();
    assertThat(list.out().lines().toList()).containsExactly(
        "REGION   REPLICA  HEALTH   URL                 RTT          CHOSEN",
        "eu-west  r1       healthy  http://127.0.0.1:9  unreachable");
    JsonArray json = new JsonArray(alice.run(null, "relays", "list", "-o", "json").out());
    assertThat(json.getJsonObject(0).getBoolean("healthy")).isTrue();
    JsonObject replica = json.getJsonObject(0).getJsonArray("replicas").getJsonObject(0);
    assertThat(replica.getValue("rttMs")).isNull();
    assertThat(replica.getString("rttError")).startsWith("relay http://127.0.0.1:9/latency-check: ");
    assertThat(replica.getBoolean("chosen")).isFalse();

    assertOneLineError(alice.run(null, "relays", "delete", "eu-west"), 1,
        "user 'alice' is not an admin");
    assertThat(admin.run(null, "relays", "delete", "eu-west").exit()).isZero();
    assertThat(alice.run(null, "relays", "list").out().lines().toList()).hasSize(1);
    assertOneLineError(admin.run(null, "relays", "delete", "eu-west"), 1,
        "region 'eu-west' not found");
  }

  @Test
  void portsShareListUnshare(@TempDir Path config, @TempDir Path controlDir) throws Exception {
    // its own control plane: the registered relay must not show up in the other tests' listings
    try (Control c = Control.startOnNewDatabase(controlDir)) {
      portsShareListUnshare(c, config);
    }
  }

  private static void portsShareListUnshare(Control c, Path config) throws Exception {
    String url = c.server.url();
    String admin = c.setupAdmin();
    c.createUser(admin, "carol");
    String relayToken = c.createRegion(admin, "apps-eu");
    assertThat(c.http.post("/api/v1/relay/register", relayToken, new JsonObject()
        .put("replicaId", "eu-1").put("publicUrl", "https://relay-eu.example.com")
        .put("appsHost", "apps.example.com")).status()).isEqualTo(200);
    CliRunner cli = new CliRunner(config);
    assertThat(cli.run(Control.PASSWORD + "\n", "login", url, "-u", "carol", "--password-stdin")
        .exit()).isZero();
    assertThat(cli.run(null, "workspaces", "create", "web").exit()).isZero();

    Result shared = cli.run(null, "ports", "share", "web", "8080", "--level", "public");
    assertThat(shared.exit()).as(shared.toString()).isZero();
    assertThat(shared.out()).isEqualTo("port 8080 of carol/web (agent main) is shared at level"
        + " public\n  https://8080--main--web--carol.apps.example.com/\n");
    Result https = cli.run(null, "ports", "share", "web.main", "9443", "--https");
    assertThat(https.out()).contains("at level owner", "https://9443s--main--web--carol.apps.example.com/");

    Result list = cli.run(null, "ports", "list");
    assertThat(list.out().lines().toList()).containsExactly(
        "WORKSPACE  AGENT  PORT          LEVEL   URL",
        "carol/web  main   8080          public  https://8080--main--web--carol.apps.example.com/",
        "carol/web  main   9443 (https)  owner   https://9443s--main--web--carol.apps.example.com/");
    JsonArray json = new JsonArray(cli.run(null, "ports", "list", "web", "-o", "json").out());
    assertThat(json.size()).isEqualTo(2);
    assertThat(json.getJsonObject(0).getString("app")).isEqualTo("8080--main--web--carol");

    // clear refusals: bad level, low port, someone else's workspace, a name too long for DNS
    assertOneLineError(cli.run(null, "ports", "share", "web", "8080", "--level", "everyone"), 1,
        "--level must be owner, authenticated or public, not 'everyone'");
    Result low = cli.run(null, "ports", "share", "web", "80");
    assertThat(low.exit()).isEqualTo(1);
    assertThat(low.err()).startsWith("relaymesh: ").contains("80");
    Result other = cli.run(null, "ports", "share", "admin/secret", "8080");
    assertThat(other.exit()).isEqualTo(1);
    assertThat(other.err()).contains("not found");
    String longName = "a-very-long-workspace-name-of-32";
    String longAgent = "and-an-agent-name-of-30-chars1";
    assertThat(cli.run(null, "workspaces", "create", longName, "--agent", longAgent).exit())
        .isZero();
    Result tooLong = cli.run(null, "ports", "share", longName + "." + longAgent, "8080");
    assertThat(tooLong.exit()).as(tooLong.toString()).isEqualTo(1);
    assertThat(tooLong.err()).contains("63");

    assertThat(cli.run(null, "ports", "unshare", "web", "8080").out())
        .isEqualTo("port 8080 of carol/web (agent main) is not shared (owner only)\n");
    assertThat(cli.run(null, "ports", "list").out()).doesNotContain("8080--");
  }

  @Test
  void relayFlagsReachTheRelaysSettings(@TempDir Path config) {
    CliRunner cli = new CliRunner(config);
    Result r = cli.run(null, "relay", "--control-url", url, "--token", "rmr_not-checked-here",
        "--region", "eu", "--peer-address", "10.1.2.3:8443", "--admin-listen", "127.0.0.1:9090",
        "--print-config");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.out()).contains("peer-address", "10.1.2.3:8443", "admin-listen",
        "127.0.0.1:9090").doesNotContain("rmr_not-checked-here");
    Result bad = cli.run(null, "relay", "--control-url", url, "--token", "t", "--region", "eu",
        "--peer-address", "no-port", "--print-config");
    assertThat(bad.exit()).as(bad.toString()).isNotZero();
    assertThat(bad.err()).contains("relay.peer-address").contains("no-port");
  }
}
