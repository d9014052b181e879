package io.relaymesh.cli;

import io.relaymesh.agent.Agent;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.ConfigLoader;
import io.relaymesh.config.LoadedConfig;
import io.relaymesh.proxy.Transports;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh agent}: the workspace agent. */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the workspace agent: keeps tunnels to the nearest relays (--relay-count,"
        + " default 2) and serves SSH and loopback ports through them.")
final class AgentCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Option(names = "--config", paramLabel = "FILE", description = "YAML file (section 'agent').")
  Path configFile;

  @Option(names = "--url", paramLabel = "URL", description = "Control plane URL.")
  String url;

  @Option(names = "--token", paramLabel = "T",
      description = "Agent token (or RELAYMESH_AGENT_TOKEN; avoid flags on shared machines).")
  String token;

  @Option(names = "--region", paramLabel = "R", description = "Pin a region.")
  String region;

  @Option(names = "--relay-count", paramLabel = "N",
      description = "Relays to keep a tunnel to, for high availability (default 2).")
  Integer relayCount;

  @Option(names = "--relay-url", paramLabel = "URL", description = "Use this relay.")
  String relayUrl;

  @Option(names = "--ca-cert", paramLabel = "FILE", description = "Trust this relay certificate (PEM).")
  Path caCert;

  @Option(names = "--relay-fingerprint", paramLabel = "HEX", description = "Pin the relay certificate.")
  String relayFingerprint;

  @Option(names = "--ssh-target", paramLabel = "HOST:PORT",
      description = "Send SSH to this server instead of the built-in one (e.g. 127.0.0.1:22).")
  String sshTarget;

  @Option(names = "--state-dir", paramLabel = "DIR", description = "Agent state (SSH host key).")
  Path stateDir;

  @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
      description = "Serve /metrics, /healthz and /readyz over plain HTTP here (e.g. 127.0.0.1:9464).")
  String metricsAddress;

  @Option(names = "--print-config", description = "Print the effective configuration and exit.")
  boolean printConfig;

  @Override
  public Integer call() throws Exception {
    LoadedConfig<AgentConfig> loaded = ConfigLoader.of("agent", AgentConfig.class)
        .file(configFile).env(main.env.vars())
        .flag("url", url).flag("token", token).flag("region", region)
        .flag("relay-count", relayCount)
        .flag("relay-url", relayUrl).flag("ca-cert", caCert)
        .flag("relay-fingerprint", relayFingerprint).flag("ssh-target", sshTarget)
        .flag("state-dir", stateDir).flag("metrics-address", metricsAddress)
        .load();
    if (printConfig) {
      main.env.out().print(loaded.describe());
      return 0;
    }
    Vertx vertx = Transports.create(new VertxOptions());
    Agent agent = ClientTunnel.await(Agent.start(vertx, loaded.config()), Duration.ofMinutes(1));
    var started = LoggerFactory.getLogger(AgentCommand.class).atInfo()
        .setMessage("agent started");
    if (relayUrl != null) {
      started = started.addKeyValue("relay_url", relayUrl);
    } else {
      started = started.addKeyValue("control_url", loaded.config().url())
          .addKeyValue("relay_count", loaded.config().relayCount())
          .addKeyValue("region", loaded.config().region());
    }
    if (agent.metricsUrl() != null) {
      started = started.addKeyValue("metrics_url", agent.metricsUrl() + "/metrics");
    }
    started.log();
    ShutdownHook.install(() -> {
      try {
        ClientTunnel.await(agent.close(), Duration.ofSeconds(10));
      } catch (RuntimeException e) {
        // exiting anyway
      }
      vertx.close();
    }).awaitStopped();
    return 0;
  }
}
