package io.relaymesh.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh workspaces create|list|delete}. */
@Command(name = "workspaces", mixinStandardHelpOptions = true,
    description = "Manage your workspaces.",
    subcommands = {WorkspacesCommand.Create.class, WorkspacesCommand.ListCmd.class,
        WorkspacesCommand.Delete.class})
final class WorkspacesCommand implements Runnable {

  @ParentCommand Main main;
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(main.env.out());
  }

  /** {@code name} or {@code owner/name} -> {@code owner/name} path segments. */
  static String path(Credentials c, String workspace) {
    int slash = workspace.indexOf('/');
    String owner = slash < 0 ? c.username() : workspace.substring(0, slash);
    String name = slash < 0 ? workspace : workspace.substring(slash + 1);
    if (owner.isEmpty() || name.isEmpty() || name.contains("/")) {
      throw new CliException("workspace must be NAME or OWNER/NAME, got '" + workspace + "'");
    }
    return "/api/v1/workspaces/" + ControlClient.seg(owner) + "/" + ControlClient.seg(name);
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a workspace; prints its agent token once.")
  static final class Create implements Callable<Integer> {
    @ParentCommand WorkspacesCommand parent;
    @Parameters(index = "0", paramLabel = "NAME") String name;
    @Option(names = "--agent", paramLabel = "AGENT", description = "Name of the first agent (default main).")
    String agent;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      JsonObject body = new JsonObject().put("name", name);
      if (agent != null) {
        body.put("agent", agent);
      }
      JsonObject r = c.client().post("/api/v1/workspaces", body);
      if (Output.json(output, env)) {
        env.out().println(r.encodePrettily());
        return 0;
      }
      String full = r.getJsonObject("workspace").getString("fullName");
      env.out().println("created workspace " + full + " with agent '" + r.getString("agent") + "'");
      env.out().println("agent token (shown only once): " + r.getString("agentToken"));
      env.out().println("run this inside the workspace:");
      env.out().println("  " + r.getString("agentCommand"));
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List your workspaces.")
  static final class ListCmd implements Callable<Integer> {
    @ParentCommand WorkspacesCommand parent;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      JsonObject r = c.client().get("/api/v1/workspaces");
      JsonArray ws = r.getJsonArray("workspaces");
      if (Output.json(output, env)) {
        env.out().println(ws.encodePrettily());
        return 0;
      }
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < ws.size(); i++) {
        JsonObject w = ws.getJsonObject(i);
        List<String> agents = new ArrayList<>();
        List<String> relays = new ArrayList<>();
        JsonArray a = w.getJsonArray("agents");
        for (int j = 0; j < a.size(); j++) {
          JsonObject ag = a.getJsonObject(j);
          agents.add(ag.getString("name") + (ag.getBoolean("connected") ? "" : " (offline)"));
          JsonArray rl = ag.getJsonArray("relays");
          for (int k = 0; k < rl.size(); k++) {
            relays.add(rl.getJsonObject(k).getString("region") + "/"
                + rl.getJsonObject(k).getString("replicaId"));
          }
        }
        rows.add(List.of(w.getString("fullName"), String.join(", ", agents),
            relays.isEmpty() ? "-" : String.join(", ", relays), Output.time(w.getString("createdAt"))));
      }
      Output.table(env.out(), List.of("WORKSPACE", "AGENTS", "RELAYS", "CREATED"), rows);
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a workspace and revoke its agent tokens.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand WorkspacesCommand parent;
    @Parameters(index = "0", paramLabel = "WORKSPACE", description = "NAME or OWNER/NAME") String workspace;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      c.client().delete(path(c, workspace));
      env.out().println("deleted workspace " + (workspace.contains("/") ? workspace
          : c.username() + "/" + workspace) + "; its agent tokens are revoked");
      return 0;
    }
  }
}
