package io.relaymesh.cli;

import io.relaymesh.config.ConfigLoader;
import io.relaymesh.config.LoadedConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.relay.RelayServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh relay}: a regional relay. */
@Command(name = "relay", mixinStandardHelpOptions = true,
    description = "Run a regional relay: terminates TLS, authenticates agents and clients, and "
        + "splices their streams.")
final class RelayCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Option(names = "--config", paramLabel = "FILE", description = "YAML file (section 'relay').")
  Path configFile;

  @Option(names = "--control-url", paramLabel = "URL", description = "Control plane URL.")
  String controlUrl;

  @Option(names = "--token", paramLabel = "T",
      description = "Relay token of the region (or RELAYMESH_RELAY_TOKEN).")
  String token;

  @Option(names = "--region", paramLabel = "R", description = "Region this relay serves.")
  String region;

  @Option(names = "--replica-id", paramLabel = "ID", description = "Replica id (default generated).")
  String replicaId;

  @Option(names = "--listen", paramLabel = "ADDR", description = "host:port to listen on.")
  String listen;

  @Option(names = "--public-url", paramLabel = "URL", description = "URL agents and clients use.")
  String publicUrl;

  @Option(names = "--apps-host", paramLabel = "HOST", description = "Wildcard host of app URLs.")
  String appsHost;

  @Option(names = "--peer-address", paramLabel = "HOST:PORT",
      description = "Where other relays reach this replica to forward streams (e.g. the pod IP); "
          + "default: the public URL.")
  String peerAddress;

  @Option(names = "--admin-listen", paramLabel = "HOST:PORT",
      description = "Serve /metrics, /healthz, /readyz and /debug/consistency over plain HTTP "
          + "here (a private network, e.g. 0.0.0.0:9090); the public listener then no longer "
          + "serves /metrics and /debug/consistency.")
  String adminListen;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "PEM certificate chain.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key.")
  Path tlsKey;

  @Option(names = "--print-config", description = "Print the effective configuration and exit.")
  boolean printConfig;

  @Override
  public Integer call() throws Exception {
    LoadedConfig<RelayConfig> loaded = ConfigLoader.of("relay", RelayConfig.class)
        .file(configFile).env(main.env.vars())
        .flag("control-url", controlUrl).flag("token", token).flag("region", region)
        .flag("replica-id", replicaId).flag("listen", listen).flag("public-url", publicUrl)
        .flag("apps-host", appsHost).flag("peer-address", peerAddress)
        .flag("admin-listen", adminListen)
        .flag("tls-cert", tlsCert).flag("tls-key", tlsKey)
        .load();
    if (printConfig) {
      main.env.out().print(loaded.describe());
      return 0;
    }
    RelayConfig config = loaded.config();
    RelayServer relay = RelayServer.run(config);
    main.env.out().println("relaymesh relay " + relay.replicaId() + " (region " + relay.region()
        + ") listening on " + relay.url() + ", TLS sha256 " + relay.fingerprint()
        + (relay.adminUrl() != null ? ", admin " + relay.adminUrl() : ""));
    main.env.out().flush();
    ShutdownHook.install(() -> {
      // SIGTERM: GOAWAY to every tunnel, let streams finish up to the drain timeout, then stop
      try {
        relay.drain(config.drainTimeout()).toCompletionStage().toCompletableFuture()
            .get(config.drainTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LoggerFactory.getLogger(RelayCommand.class).atError()
            .setMessage("relay drain did not finish").addKeyValue("error", e.toString()).log();
      } finally {
        relay.stop();
      }
    }).awaitStopped();
    return 0;
  }
}
