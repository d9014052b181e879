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

/** {@code relaymesh relays create|list|delete|tokens}. */
@Command(name = "relays", mixinStandardHelpOptions = true,
    description = "Manage relay regions (create/delete/tokens: admins).",
    subcommands = {RelaysCommand.Create.class, RelaysCommand.ListCmd.class,
        RelaysCommand.Delete.class, RelaysCommand.Tokens.class})
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

  /** {@code relaymesh relays tokens create|list|revoke}: rotating a region's relay token. */
  @Command(name = "tokens", mixinStandardHelpOptions = true,
      description = {"Rotate a region's relay token without an outage (admins): create a new "
          + "token, give it to the region's relays and restart them one by one, check with "
          + "'tokens list' that no healthy replica uses the old token, then revoke it."},
      subcommands = {TokensCreate.class, TokensList.class, TokensRevoke.class})
  static final class Tokens implements Runnable {
    @ParentCommand RelaysCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      spec.commandLine().usage(parent.main.env.out());
    }

    Env env() {
      return parent.main.env;
    }

    static String path(String region) {
      return "/api/v1/relays/" + ControlClient.seg(region) + "/tokens";
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create another relay token for a region; prints it once. The region's "
          + "other tokens keep working until they are revoked.")
  static final class TokensCreate implements Callable<Integer> {
    @ParentCommand Tokens parent;
    @Parameters(index = "0", paramLabel = "REGION") String region;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.env();
      Credentials c = Credentials.load(env);
      JsonObject r = c.client().post(Tokens.path(region), new JsonObject());
      if (Output.json(output, env)) {
        env.out().println(r.encodePrettily());
        return 0;
      }
      env.out().println("created relay token " + r.getLong("id") + " of region " + region);
      env.out().println("relay token (shown only once): " + r.getString("token"));
      env.out().println("next: give it to the region's relays (their Secret), restart them one "
          + "by one, check 'relaymesh relays tokens list " + region + "', then revoke the old "
          + "token with 'relaymesh relays tokens revoke " + region + " ID'");
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"List a region's relay tokens (never the tokens themselves): when created, "
          + "last used (to within 15 s), revoked, and the healthy replicas that use each."})
  static final class TokensList implements Callable<Integer> {
    @ParentCommand Tokens parent;
    @Parameters(index = "0", paramLabel = "REGION") String region;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.env();
      Credentials c = Credentials.load(env);
      JsonArray tokens = c.client().get(Tokens.path(region)).getJsonArray("tokens");
      if (Output.json(output, env)) {
        env.out().println(tokens.encodePrettily());
        return 0;
      }
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < tokens.size(); i++) {
        JsonObject t = tokens.getJsonObject(i);
        JsonArray reps = t.getJsonArray("replicas", new JsonArray());
        List<String> names = new ArrayList<>();
        reps.forEach(x -> names.add(String.valueOf(x)));
        rows.add(Arrays.asList(String.valueOf(t.getLong("id")),
            t.getBoolean("active", false) ? "active" : "revoked",
            Output.time(t.getString("createdAt")), Output.time(t.getString("lastUsedAt")),
            Output.time(t.getString("revokedAt")),
            names.isEmpty() ? "-" : String.join(", ", names)));
      }
      Output.table(env.out(), List.of("ID", "STATE", "CREATED", "LAST USED", "REVOKED",
          "REPLICAS"), rows);
      return 0;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = {"Revoke a relay token of a region: relays using it are refused at their "
          + "next call. Refused for the region's last active token (use 'relays delete' to cut "
          + "the region off) and, without --force, while healthy replicas still use it."})
  static final class TokensRevoke implements Callable<Integer> {
    @ParentCommand Tokens parent;
    @Parameters(index = "0", paramLabel = "REGION") String region;
    @Parameters(index = "1", paramLabel = "ID", description = "the token id ('tokens list')")
    long id;
    @Option(names = "--force",
        description = "Revoke even while healthy replicas still use the token.")
    boolean force;

    @Override
    public Integer call() {
      Env env = parent.env();
      Credentials c = Credentials.load(env);
      c.client().delete(Tokens.path(region) + "/" + id + (force ? "?force=true" : ""));
      env.out().println("revoked relay token " + id + " of region " + region);
      return 0;
    }
  }
}
