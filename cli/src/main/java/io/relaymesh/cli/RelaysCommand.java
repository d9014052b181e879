package io.relaymesh.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
      description = "List regions with health and the latency measured from this machine.")
  static final class ListCmd implements Callable<Integer> {
    @ParentCommand RelaysCommand parent;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      JsonArray regions = c.client().get("/api/v1/relays")
          .getJsonArray("regions");
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < regions.size(); i++) {
        JsonObject g = regions.getJsonObject(i);
        JsonArray reps = g.getJsonArray("replicas");
        String url = null;
        int healthy = 0;
        for (int j = 0; j < reps.size(); j++) {
          if (reps.getJsonObject(j).getBoolean("healthy")) {
            healthy++;
            if (url == null) {
              url = reps.getJsonObject(j).getString("publicUrl");
            }
          }
        }
        Long latency = url == null ? null : latencyMs(http, url);
        g.put("latencyMs", latency);
        rows.add(List.of(g.getString("region"),
            reps.isEmpty() ? "no relays" : g.getBoolean("healthy") ? "healthy" : "unhealthy",
            healthy + "/" + reps.size(), url == null ? "-" : url,
            latency == null ? "-" : latency + " ms"));
      }
      if (Output.json(output, env)) {
        env.out().println(regions.encodePrettily());
      } else {
        Output.table(env.out(), List.of("REGION", "HEALTH", "REPLICAS", "URL", "LATENCY"), rows);
      }
      return 0;
    }

    /** Round trip of GET {@code <url>/latency-check}, best of three; null when unreachable. */
    private static Long latencyMs(HttpClient http, String url) {
      Long best = null;
      for (int i = 0; i < 3; i++) {
        try {
          HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/latency-check"))
              .timeout(Duration.ofSeconds(2)).GET().build();
          long t0 = System.nanoTime();
          HttpResponse<Void> r = http.send(req, HttpResponse.BodyHandlers.discarding());
          long ms = (System.nanoTime() - t0) / 1_000_000;
          if (r.statusCode() >= 400) {
            return best;
          }
          best = best == null ? ms : Math.min(best, ms);
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          return best;
        }
      }
      return best;
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
