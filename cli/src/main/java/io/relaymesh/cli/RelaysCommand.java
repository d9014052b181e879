package io.relaymesh.cli;

import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.LatencyProbe;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.RelayChooser;
import io.relaymesh.proxy.dial.RelayRtt;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh relays create|list|delete}. */
@Command(name = "relays", mixinStandardHelpOptions = true,
    description = "Manage relay regions (create/delete: admins).",
    subcommands = {RelaysCommand.Create.class, RelaysCommand.ListCmd.class, RelaysCommand.Delete.class})
final class RelaysCommand implements Runnable {

  @ParentCommand Main main;
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(main.env.out());
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a region; prints its relay token once.")
  static final class Create implements Callable<Integer> {
    @ParentCommand RelaysCommand parent;
    @Parameters(index = "0", paramLabel = "REGION") String region;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      JsonObject r = c.client()
          .post("/api/v1/relays", new JsonObject().put("region", region));
      if (Output.json(output, env)) {
        env.out().println(r.encodePrettily());
        return 0;
      }
      String token = r.getString("relayToken");
      env.out().println("created region " + region);
      env.out().println("relay token (shown only once): " + token);
      env.out().println("run a relay for it with:");
      env.out().println("  relaymesh relay --control-url " + c.url() + " --token " + token
          + " --region " + region);
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"List regions and relay replicas with health and the round trip measured from"
          + " this machine (smallest of a few GET /latency-check over a warm connection).",
          "CHOSEN marks the replica ssh and port-forward would use (the nearest; of --region if"
          + " given) when it holds the workspace's agent."})
  static final class ListCmd implements Callable<Integer> {
    @ParentCommand RelaysCommand parent;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;
    @Option(names = "--region", paramLabel = "R",
        description = "Mark the nearest replica of this region (default: cli.region, else any).")
    String region;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      String pinned = region != null ? region : env.cliConfig().region();
      JsonArray regions = c.client().get("/api/v1/relays").getJsonArray("regions");
      List<RelayCandidate> healthy = RelayCandidate.healthyOf(new JsonObject().put("regions", regions), null);
      Map<String, RelayRtt> rtt = new HashMap<>();
      measure(env, healthy).forEach(r -> rtt.put(r.relay().key(), r));
      String chosen = RelayChooser.choose(rtt.values(), null, pinned).map(r -> r.relay().key()).orElse(null);
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < regions.size(); i++) {
        JsonObject g = regions.getJsonObject(i);
        JsonArray reps = g.getJsonArray("replicas", new JsonArray());
        if (reps.isEmpty()) {
          rows.add(Arrays.asList(g.getString("region"), "-", "no relays", "-", "-", ""));
        }
        Double nearest = null;
        for (int j = 0; j < reps.size(); j++) {
          JsonObject rep = reps.getJsonObject(j);
          RelayCandidate cand = RelayCandidate.fromJson(rep, g.getString("region"));
          RelayRtt m = cand == null || !rep.getBoolean("healthy", false) ? null : rtt.get(cand.key());
          boolean isChosen = m != null && m.relay().key().equals(chosen);
          rep.put("rttMs", m == null || !m.reachable() ? null : round(m.millis()));
          if (m != null && !m.reachable()) {
            rep.put("rttError", m.error());
          }
          rep.put("chosen", isChosen);
          if (m != null && m.reachable() && (nearest == null || m.millis() < nearest)) {
            nearest = m.millis();
          }
          rows.add(Arrays.asList(g.getString("region"), rep.getString("replicaId"),
              rep.getBoolean("healthy", false) ? "healthy" : "unhealthy", rep.getString("publicUrl"),
              m == null ? "-" : m.describe(), isChosen ? "*" : ""));
        }
        g.put("latencyMs", nearest == null ? null : round(nearest));
      }
      if (Output.json(output, env)) {
        env.out().println(regions.encodePrettily());
      } else {
        Output.table(env.out(), List.of("REGION", "REPLICA", "HEALTH", "URL", "RTT", "CHOSEN"), rows);
      }
      return 0;
    }

    private static double round(double ms) {
      return Math.round(ms * 10) / 10.0;
    }

    /** Round trips to the healthy replicas, with the trust and proxy of the tunnels. */
    private static List<RelayRtt> measure(Env env, List<RelayCandidate> healthy) {
      if (healthy.isEmpty()) {
        return List.of();
      }
      ClientTunnel.quietLogs();
      Vertx vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(1)
          .setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
      try {
        return ClientTunnel.await(new LatencyProbe(vertx, ClientTunnel.dialOptions(env)).measure(healthy),
            Duration.ofSeconds(30));
      } finally {
        ClientTunnel.await(vertx.close(), Duration.ofSeconds(10));
      }
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a region and revoke its relay token.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand RelaysCommand parent;
    @Parameters(index = "0", paramLabel = "REGION") String region;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      c.client().delete("/api/v1/relays/" + ControlClient.seg(region));
      env.out().println("deleted region " + region + "; its relay token is revoked");
      return 0;
    }
  }
}
