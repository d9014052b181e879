package io.relaymesh.cli;

import io.relaymesh.config.ConfigLoader;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.config.LoadedConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.control.ControlServer;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code relaymesh server}: the control plane, and in the same process a built-in relay
 * (region {@code local}, see {@link BuiltinRelay}) unless {@code --no-builtin-relay}.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = {"Run the control plane (embedded PostgreSQL unless --postgres-url is given)",
        "and a built-in relay, region 'local' (unless --no-builtin-relay)."})
final class ServerCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Option(names = "--config", paramLabel = "FILE",
      description = "YAML configuration file (section 'server'); flags and RELAYMESH_SERVER_* "
          + "variables override it.")
  Path configFile;

  @Option(names = "--postgres-url", paramLabel = "URL",
      description = "External PostgreSQL (postgresql://user:password@host:port/db). "
          + "Default: embedded PostgreSQL in <data-dir>/postgres.")
  String postgresUrl;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "State directory (default ~/.local/share/relaymesh).")
  String dataDir;

  @Option(names = "--listen", paramLabel = "ADDR", description = "host:port to listen on (default "
      + ControlConfig.DEFAULT_LISTEN + ").")
  String listen;

  @Option(names = "--access-url", paramLabel = "URL",
      description = "URL under which users, relays and agents reach this server.")
  String accessUrl;

  @Option(names = "--builtin-relay", negatable = true,
      description = "Serve a built-in relay (default true; --no-builtin-relay to turn it off).")
  Boolean builtinRelay;

  @Option(names = "--relay-listen", paramLabel = "ADDR",
      description = "host:port of the built-in relay's TLS listener (default "
          + ControlConfig.DEFAULT_RELAY_LISTEN + ").")
  String relayListen;

  @Option(names = "--relay-public-url", paramLabel = "URL",
      description = "URL agents and clients use for the built-in relay (default: the access "
          + "URL's host with the relay port).")
  String relayPublicUrl;

  @Option(names = "--relay-apps-host", paramLabel = "HOST",
      description = "Wildcard host of the built-in relay's app URLs (default: no apps).")
  String relayAppsHost;

  @Option(names = "--relay-tls-cert", paramLabel = "FILE",
      description = "PEM certificate chain of the built-in relay (default: self-signed, kept in "
          + "<data-dir>/builtin-relay/tls).")
  Path relayTlsCert;

  @Option(names = "--relay-tls-key", paramLabel = "FILE",
      description = "PEM private key of --relay-tls-cert.")
  Path relayTlsKey;

  @Option(names = "--session-ttl", paramLabel = "DURATION", description = "Login session lifetime (default 7d).")
  String sessionTtl;

  @Option(names = "--ticket-ttl", paramLabel = "DURATION", description = "Connection ticket lifetime (default 2m).")
  String ticketTtl;

  @Option(names = "--heartbeat-timeout", paramLabel = "DURATION",
      description = "Relay replicas without a heartbeat for this long are unhealthy (default 30s).")
  String heartbeatTimeout;

  @Option(names = "--key-rotation", paramLabel = "DURATION",
      description = "Ticket signing key lifetime (default 1d).")
  String keyRotation;

  @Option(names = "--create-admin", paramLabel = "USER",
      description = "Create this admin user at startup (password from --password-stdin, a prompt, "
          + "or generated and printed once).")
  String createAdmin;

  @Option(names = "--password-stdin", description = "Read the --create-admin password from stdin.")
  boolean passwordStdin;

  /** defaults < --config YAML < RELAYMESH_SERVER_* < flags, validated. */
  LoadedConfig<ControlConfig> config() {
    return ConfigLoader.of("server", ControlConfig.class)
        .file(configFile)
        .env(main.env.vars())
        .flag("listen", listen)
        .flag("access-url", accessUrl)
        .flag("data-dir", dataDir)
        .flag("postgres-url", postgresUrl)
        .flag("builtin-relay", builtinRelay)
        .flag("session-ttl", sessionTtl)
        .flag("ticket-ttl", ticketTtl)
        .flag("heartbeat-timeout", heartbeatTimeout)
        .flag("key-rotation", keyRotation)
        .flag("relay-listen", relayListen)
        .flag("relay-public-url", relayPublicUrl)
        .flag("relay-apps-host", relayAppsHost)
        .flag("relay-tls-cert", relayTlsCert)
        .flag("relay-tls-key", relayTlsKey)
        .load();
  }

  @Override
  public Integer call() throws Exception {
    Env env = main.env;
    if (passwordStdin && createAdmin == null) {
      throw new CliException("--password-stdin needs --create-admin USER");
    }
    String adminPassword = null;
    boolean generated = false;
    if (createAdmin != null) {
      if (passwordStdin) {
        adminPassword = env.readStdinLine("password for '" + createAdmin + "'");
      } else if (env.console() != null) {
        char[] p = env.console().readPassword("password for new admin '%s': ", createAdmin);
        if (p == null || p.length == 0) {
          throw new CliException("no password entered for admin '" + createAdmin + "'");
        }
        adminPassword = new String(p);
      } else {
        byte[] b = new byte[15];
        new SecureRandom().nextBytes(b);
        adminPassword = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        generated = true;
      }
    }
    ControlConfig config = config().config();
    Vertx vertx = Transports.create(new VertxOptions());
    ControlServer server;
    try {
      server = ClientTunnel.await(ControlServer.start(vertx, config), Duration.ofMinutes(5));
    } catch (RuntimeException e) {
      vertx.close();
      throw e;
    }
    RelayServer relay = null;
    try {
      if (createAdmin != null) {
        ControlServer.await(server.createAdmin(createAdmin, adminPassword));
        env.out().println("created admin user '" + createAdmin + "'"
            + (generated ? " with password: " + adminPassword + " (shown once)" : ""));
      }
      if (config.builtinRelay()) {
        relay = startRelay(vertx, server, config);
      }
    } catch (RuntimeException e) {
      stop(vertx, null, server);
      throw e;
    }
    RelayServer r = relay;
    ShutdownHook hook = ShutdownHook.install(() -> stop(vertx, r, server));
    env.out().println("relaymesh control plane listening on " + server.url()
        + (server.embeddedDatabase() ? " (embedded PostgreSQL in "
            + config.dataDir().resolve("postgres") + ")" : ""));
    if (relay != null) {
      env.out().println("relaymesh built-in relay " + relay.replicaId() + " (region "
          + relay.region() + ") listening on " + relay.url() + ", TLS sha256 "
          + relay.fingerprint());
    }
    env.out().println("log in with: relaymesh login " + server.url());
    env.out().flush();
    hook.awaitStopped();
    return 0;
  }

  /** The built-in relay, its state in {@code <data-dir>/builtin-relay}. */
  private static RelayServer startRelay(Vertx vertx, ControlServer server, ControlConfig config) {
    Path dir = config.dataDir().toAbsolutePath().resolve("builtin-relay");
    try {
      return BuiltinRelay.start(vertx, server, config.listen(), new BuiltinRelay.Options(
          config.relayListen(), "server.relay-listen (--relay-listen, "
              + "RELAYMESH_SERVER_RELAY_LISTEN), or turn it off with --no-builtin-relay",
          config.relayPublicUrl() != null ? config.relayPublicUrl()
              : BuiltinRelay.publicUrl(config.accessUrl(), config.relayListen()),
          config.relayAppsHost(), config.relayTlsCert(), config.relayTlsKey(),
          dir.resolve("relay-token"), dir, // the self-signed certificate goes to <dir>/tls
          BuiltinRelay.replicaId(dir.resolve("replica-id"))));
    } catch (IOException e) {
      throw new CliException("cannot keep the built-in relay's state in " + dir + ": " + e, e);
    }
  }

  /** SIGTERM: the built-in relay drains first (and deregisters), then the control plane stops. */
  private static void stop(Vertx vertx, RelayServer relay, ControlServer server) {
    try {
      if (relay != null) {
        BuiltinRelay.drainAndStop(relay, RelayConfig.DEFAULT_DRAIN_TIMEOUT);
      }
      ClientTunnel.await(server.close(), Duration.ofSeconds(60));
    } catch (RuntimeException e) {
      LoggerFactory.getLogger(ServerCommand.class).atWarn()
          .setMessage("control plane did not stop cleanly").addKeyValue("error", e.toString())
          .log();
    } finally {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // exiting anyway
      }
    }
  }
}
