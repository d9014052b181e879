package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.CliRunner.Result;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The newcomer's path, with the real {@code relaymesh server} in a child JVM: embedded
 * PostgreSQL in the data dir, --create-admin, login from the CLI, a workspace and a region,
 * SIGTERM stops everything cleanly, and a restart keeps the data.
 */
@Timeout(240)
class ServerCommandTest {

  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

  record Server(Process process, String url, List<String> output) {}

  static Server startServer(Path dataDir, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "server", "--data-dir", dataDir.toString(), "--listen", "127.0.0.1:0"));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    return new Server(p, null, new java.util.concurrent.CopyOnWriteArrayList<>());
  }

  static Server awaitListening(Server s, String stdin) throws Exception {
    try (OutputStream in = s.process().getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    BufferedReader r = new BufferedReader(new InputStreamReader(s.process().getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null) {
      s.output().add(line);
      Matcher m = LISTENING.matcher(line);
      if (m.find()) {
        Thread drain = new Thread(() -> r.lines().forEach(s.output()::add));
        drain.setDaemon(true);
        drain.start();
        return new Server(s.process(), m.group(1), s.output());
      }
    }
    throw new AssertionError("server exited before listening: " + String.join("\n", s.output()));
  }

  static void sigterm(Server s) throws Exception {
    s.process().destroy(); // SIGTERM
    assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).as("server stopped").isTrue();
    // a JVM ended by SIGTERM after its shutdown hooks ran exits with 143
    assertThat(s.process().exitValue()).isIn(0, 143);
  }

  @Test
  void newcomerFlowFromServerStartToWorkspaceAndRegion(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    CliRunner cli = new CliRunner(tmp.resolve("config"));
    Server server = startServer(data, "--create-admin", "root", "--password-stdin");
    try {
      server = awaitListening(server, "admin password 1\n");
      assertThat(server.output()).anyMatch(l -> l.equals("created admin user 'root'"));
      assertThat(Files.exists(data.resolve("postgres/PG_VERSION"))).isTrue();

      Result login = cli.run("admin password 1\n", "login", server.url(), "-u", "root",
          "--password-stdin");
      assertThat(login.exit()).as(login.toString()).isZero();
      assertThat(login.out()).contains("as root (admin)");
      assertThat(cli.run(null, "workspaces", "create", "dev").exit()).isZero();
      assertThat(cli.run(null, "relays", "create", "eu").exit()).isZero();
    } finally {
      sigterm(server);
    }
    assertThat(data.resolve("postgres/postmaster.pid")).as("PostgreSQL stopped").doesNotExist();

    // --create-admin for an existing user: one clear line, exit 1, PostgreSQL stopped again
    Server dup = startServer(data, "--create-admin", "root", "--password-stdin");
    try (OutputStream in = dup.process().getOutputStream()) {
      in.write("another password\n".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(dup.process().waitFor(120, TimeUnit.SECONDS)).isTrue();
    String dupOut = new String(dup.process().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(dup.process().exitValue()).as(dupOut).isEqualTo(1);
    assertThat(dupOut).contains("relaymesh: user 'root' already exists\n").doesNotContain("\tat ");
    assertThat(data.resolve("postgres/postmaster.pid")).doesNotExist();

    // restart without --create-admin: the data is still there
    Server again = awaitListening(startServer(data), null);
    try {
      cli = new CliRunner(tmp.resolve("config2"));
      assertThat(cli.run("admin password 1\n", "login", again.url(), "-u", "root",
          "--password-stdin").exit()).isZero();
      assertThat(cli.run(null, "workspaces", "list").out()).contains("root/dev");
      assertThat(cli.run(null, "relays", "list").out()).contains("eu");
    } finally {
      sigterm(again);
    }
    assertThat(data.resolve("postgres/postmaster.pid")).doesNotExist();
  }

  @Test
  void invalidOptionsFailWithOneLine(@TempDir Path tmp) throws Exception {
    CliRunner cli = new CliRunner(tmp);
    Result r = cli.run(null, "server", "--password-stdin");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).isEqualTo("relaymesh: --password-stdin needs --create-admin USER\n");
    Result bad = cli.run(null, "server", "--listen", "nonsense", "--data-dir", tmp.toString());
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).isEqualTo(
        "relaymesh: invalid configuration: server.listen: expected host:port, got \"nonsense\"\n");
    Result badTtl = cli.run(null, "server", "--ticket-ttl", "1h", "--data-dir", tmp.toString());
    assertThat(badTtl.err()).isEqualTo(
        "relaymesh: invalid configuration: server.ticket-ttl: must be between 10s and 10m, got 1h\n");
    // the same keys from the environment and from a YAML file (flags > env > file)
    Result env = cli.runWithEnv(java.util.Map.of("RELAYMESH_SERVER_HEARTBEAT_TIMEOUT", "0s"), null,
        "server", "--data-dir", tmp.toString());
    assertThat(env.err()).isEqualTo(
        "relaymesh: invalid configuration: server.heartbeat-timeout: must be positive, got 0s\n");
    java.nio.file.Path yaml = tmp.resolve("server.yaml");
    java.nio.file.Files.writeString(yaml, "server:\n  key-rotation: 0s\n  listen: 127.0.0.1:0\n");
    Result file = cli.run(null, "server", "--config", yaml.toString(), "--data-dir", tmp.toString());
    assertThat(file.err()).isEqualTo(
        "relaymesh: invalid configuration: server.key-rotation: must be positive, got 0s\n");
    Result typo = cli.runWithEnv(java.util.Map.of("RELAYMESH_SERVER_POSTGRESS_URL", "x"), null,
        "server", "--data-dir", tmp.toString());
    assertThat(typo.exit()).isEqualTo(1);
    assertThat(typo.err()).contains("RELAYMESH_SERVER_POSTGRESS_URL: unknown environment variable");
    assertThat(tmp.resolve("postgres")).doesNotExist();
  }
}
