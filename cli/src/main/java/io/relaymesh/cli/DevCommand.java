package io.relaymesh.cli;

import io.relaymesh.agent.Agent;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlServer;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code relaymesh dev}: the whole product in one process on loopback, for trying it out and
 * for development: control plane with embedded PostgreSQL, a relay (region {@code local}), an
 * admin, the workspace {@code dev} and its agent (built-in SSH server). Everything goes through
 * the real HTTP API, TLS listener and tunnels; nothing is short-circuited.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
    description = {"Run control plane, relay and a demo workspace agent in one process.",
        "Writes <data-dir>/dev.json and logs the local CLI in. Ctrl-C stops it."})
final class DevCommand implements Callable<Integer> {

  static final String REGION = BuiltinRelay.REGION;
  static final String WORKSPACE = "dev";
  static final String AGENT = "main";
  static final String ADMIN = "admin";
  /** Chromium and Firefox resolve every {@code *.localhost} name to loopback by themselves. */
  static final String APPS_HOST = "apps.localhost";

  @ParentCommand Main main;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "State directory (default ~/.local/share/relaymesh/dev).")
  Path dataDir;

  @Option(names = "--port", paramLabel = "P",
      description = "Control plane port on 127.0.0.1 (default 3000; 0 picks a free one).")
  int port = 3000;

  @Option(names = "--relay-port", paramLabel = "P",
      description = "Relay TLS port on 127.0.0.1 (default 3443; 0 picks a free one).")
  int relayPort = 3443;

  @Override
  public Integer call() throws Exception {
    Path dir = (dataDir != null ? dataDir : ControlConfig.DEFAULT_DATA_DIR.resolve("dev"))
        .toAbsolutePath();
    Files.createDirectories(dir);
    Vertx vertx = Transports.create(new VertxOptions());
    ControlServer control = null;
    RelayServer relay = null;
    Agent agent = null;
    String stage = "control plane on 127.0.0.1:" + port + " (--port)";
    try {
      control = ClientTunnel.await(ControlServer.start(vertx, ControlConfig.defaults()
          .withListen("127.0.0.1:" + port).withDataDir(dir.resolve("control"))),
          Duration.ofMinutes(3));
      String controlUrl = control.url();

      // admin: created once, its password kept in the data dir; a fresh session every start
      String password = secret(dir.resolve("admin-password"), () -> null);
      if (password == null) {
        password = random();
        ClientTunnel.await(control.createAdmin(ADMIN, password), Duration.ofSeconds(30));
        write(dir.resolve("admin-password"), password);
      }
      ControlClient anonymous = new ControlClient(controlUrl, null);
      String adminToken = anonymous.post("/api/v1/login",
          new JsonObject().put("username", ADMIN).put("password", password)).getString("token");
      ControlClient admin = new ControlClient(controlUrl, adminToken);

      String agentToken = secret(dir.resolve("agent-token"), () -> admin.post("/api/v1/workspaces",
          new JsonObject().put("name", WORKSPACE).put("agent", AGENT)).getString("agentToken"));

      stage = "relay on 127.0.0.1:" + relayPort + " (--relay-port)";
      relay = BuiltinRelay.start(vertx, control, "127.0.0.1:" + port,
          new BuiltinRelay.Options("127.0.0.1:" + relayPort, "--relay-port (0 = any free port)",
              null, APPS_HOST, null, null, dir.resolve("relay-token"), dir.resolve("relay"),
              REGION + "-dev"));
      stage = "agent";
      Path caCert = dir.resolve("relay-ca.pem");
      write(caCert, relay.caCertPem());

      agent = ClientTunnel.await(Agent.start(vertx, AgentConfig.defaults()
          .withCredentials(controlUrl, agentToken)
          .withRelayUrl(relay.url())
          .withTrust(caCert, null)
          .withStateDir(dir.resolve("agent"))), Duration.ofMinutes(1));
      ClientTunnel.await(agent.whenConnected(), Duration.ofSeconds(30));

      // log the local CLI in, trusting the relay's self-signed certificate
      Path configDir = main.env.configDir();
      new Credentials(controlUrl, ADMIN, adminToken).save(main.env);
      write(configDir.resolve(ClientTunnel.CA_FILE), relay.caCertPem());

      JsonObject devJson = new JsonObject()
          .put("controlUrl", controlUrl)
          .put("relayUrl", relay.url())
          .put("appsHost", APPS_HOST + ":" + relay.port())
          .put("caCert", relay.caCertPem())
          .put("adminToken", adminToken)
          .put("workspace", WORKSPACE)
          .put("agent", AGENT);
      write(dir.resolve("dev.json"), devJson.encodePrettily() + "\n");

      main.env.out().println(String.join("\n",
          "relaymesh dev is running",
          "  control plane  " + controlUrl + "  (embedded PostgreSQL in " + dir.resolve("control") + ")",
          "  relay          " + relay.url() + "  region " + REGION + ", TLS sha256 " + relay.fingerprint(),
          "  workspace      " + WORKSPACE + " (agent " + AGENT + ", connected)",
          "  CLI            logged in as " + ADMIN + " (" + configDir + ")",
          "  state          " + dir.resolve("dev.json"),
          "",
          "try:  ./relaymesh ssh dev -- uname -a",
          "      ./relaymesh config-ssh -y && ssh relaymesh.dev",
          "      ./relaymesh port-forward dev --tcp 9000:8000",
          "      python3 -m http.server 8000 &  ./relaymesh ports share dev 8000 --level public",
          "        -> https://8000--" + AGENT + "--" + WORKSPACE + "--" + ADMIN + "." + APPS_HOST
              + ":" + relay.port() + "/  (self-signed certificate: " + caCert + ")",
          "  dashboard      " + controlUrl + "/  (user " + ADMIN + ", password in "
              + dir.resolve("admin-password") + ")",
          "Ctrl-C stops everything."));
      main.env.out().flush();
    } catch (RuntimeException e) {
      stop(vertx, agent, relay, control);
      throw explain(e, stage, dir);
    }
    Agent a = agent;
    RelayServer r = relay;
    ControlServer c = control;
    ShutdownHook.install(() -> stop(vertx, a, r, c)).awaitStopped();
    return 0;
  }

  /** The common start failures of a second {@code relaymesh dev}, said plainly. */
  static RuntimeException explain(RuntimeException e, String stage, Path dir) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("Address already in use")) {
      return new CliException("cannot start the " + stage + ": the port is in use (another"
          + " relaymesh dev?); stop it, or pick free ports with --port and --relay-port (0 = any)",
          e);
    }
    if (m.contains("epg-lock") || m.contains("could not lock")) {
      return new CliException("the data dir " + dir + " is in use by another relaymesh dev (its"
          + " embedded PostgreSQL is locked); stop that one, or use another --data-dir", e);
    }
    return e;
  }

  private static void stop(Vertx vertx, Agent agent, RelayServer relay, ControlServer control) {
    try {
      if (agent != null) {
        ClientTunnel.await(agent.close(), Duration.ofSeconds(10));
      }
      if (relay != null) {
        BuiltinRelay.drainAndStop(relay, Duration.ofSeconds(10));
      }
      if (control != null) {
        ClientTunnel.await(control.close(), Duration.ofSeconds(30));
      }
    } catch (RuntimeException e) {
      // best effort: keep stopping
    } finally {
      vertx.close();
    }
  }

  private static String secret(Path file, StateFiles.Mint mint) throws IOException {
    return StateFiles.secret(file, mint);
  }

  private static void write(Path file, String content) throws IOException {
    StateFiles.write(file, content);
  }

  private static String random() {
    return StateFiles.random();
  }
}
