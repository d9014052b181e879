package io.relaymesh.cli;

import io.relaymesh.config.ConfigLoader;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.config.LoadedConfig;
import io.relaymesh.control.ControlServer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh server}: the control plane. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run the control plane (embedded PostgreSQL unless --postgres-url is given).")
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
    ControlServer server = ControlServer.run(config);
    ShutdownHook hook = ShutdownHook.install(server::stop);
    try {
      if (createAdmin != null) {
        ControlServer.await(server.createAdmin(createAdmin, adminPassword));
        env.out().println("created admin user '" + createAdmin + "'"
            + (generated ? " with password: " + adminPassword + " (shown once)" : ""));
      }
    } catch (RuntimeException e) {
      hook.remove();
      server.stop();
      throw e;
    }
    env.out().println("relaymesh control plane listening on " + server.url()
        + (server.embeddedDatabase() ? " (embedded PostgreSQL in "
            + config.dataDir().resolve("postgres") + ")" : ""));
    env.out().println("log in with: relaymesh login " + server.url());
    if (config.builtinRelay()) {
      LoggerFactory.getLogger(ServerCommand.class).atWarn()
          .setMessage("the built-in relay is not part of this build yet; run 'relaymesh relay' "
              + "for a region (or pass --no-builtin-relay to silence this)").log();
    }
    env.out().flush();
    hook.awaitStopped();
    return 0;
  }
}
