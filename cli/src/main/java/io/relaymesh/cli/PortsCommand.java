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

/**
 * {@code relaymesh ports share|list|unshare}: web access to workspace ports through the relays'
 * apps hosts, with share levels (owner, authenticated, public); see {@code docs/apps.md}.
 */
@Command(name = "ports", mixinStandardHelpOptions = true,
    description = {"Share workspace ports as web apps at https://PORT--AGENT--WORKSPACE--OWNER.APPS-HOST/",
        "Levels: owner (only you; also every unshared port), authenticated (any logged-in user),"
            + " public (anyone)."},
    subcommands = {PortsCommand.Share.class, PortsCommand.ListCmd.class,
        PortsCommand.Unshare.class})
final class PortsCommand implements Runnable {

  @ParentCommand Main main;
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(main.env.out());
  }

  /** {@code /api/v1/workspaces/<owner>/<name>/agents/<agent>/ports/<port>/share}. */
  static String sharePath(Credentials c, String workspace, int port) {
    WorkspaceRef ref = WorkspaceRef.parse(workspace);
    String owner = ref.owner() == null ? c.username() : ref.owner();
    if (port < 1 || port > 65535) {
      throw new CliException("port " + port + " is not between 1 and 65535");
    }
    return "/api/v1/workspaces/" + ControlClient.seg(owner) + "/" + ControlClient.seg(ref.name())
        + "/agents/" + ControlClient.seg(ref.agentOrDefault()) + "/ports/" + port + "/share";
  }

  @Command(name = "share", mixinStandardHelpOptions = true,
      description = "Share a workspace port; prints its URL(s).")
  static final class Share implements Callable<Integer> {
    @ParentCommand PortsCommand parent;
    @Parameters(index = "0", paramLabel = "WORKSPACE", description = "NAME, OWNER/NAME or NAME.AGENT")
    String workspace;
    @Parameters(index = "1", paramLabel = "PORT", description = "port of the app inside the workspace")
    int port;
    @Option(names = "--level", paramLabel = "LEVEL",
        description = "owner, authenticated or public (default owner)")
    String level = "owner";
    @Option(names = "--https", description = "the app itself speaks HTTPS (certificate not verified)")
    boolean https;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table or json")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      if (!List.of("owner", "authenticated", "public").contains(level)) {
        throw new CliException("--level must be owner, authenticated or public, not '" + level + "'");
      }
      Credentials c = Credentials.load(env);
      JsonObject r = c.client().call("PUT", sharePath(c, workspace, port),
          new JsonObject().put("level", level).put("https", https));
      if (Output.json(output, env)) {
        env.out().println(r.encodePrettily());
        return 0;
      }
      env.out().println("port " + r.getInteger("port") + " of " + r.getString("workspace")
          + " (agent " + r.getString("agent") + ") is shared at level " + r.getString("level"));
      JsonArray urls = r.getJsonArray("urls", new JsonArray());
      if (urls.isEmpty()) {
        env.out().println("no relay with an apps host is registered yet; the app will be at"
            + " https://" + r.getString("app") + ".<apps-host>/");
      }
      for (int i = 0; i < urls.size(); i++) {
        env.out().println("  " + urls.getString(i));
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the shared ports of your workspaces.")
  static final class ListCmd implements Callable<Integer> {
    @ParentCommand PortsCommand parent;
    @Parameters(index = "0", arity = "0..1", paramLabel = "WORKSPACE",
        description = "only this workspace (NAME or OWNER/NAME)")
    String workspace;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table or json")
    Output.Format output;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      String only = null;
      if (workspace != null) {
        WorkspaceRef ref = WorkspaceRef.parse(workspace);
        only = (ref.owner() == null ? c.username() : ref.owner()) + "/" + ref.name();
      }
      JsonArray all = c.client().get("/api/v1/shares").getJsonArray("shares", new JsonArray());
      JsonArray shares = new JsonArray();
      for (int i = 0; i < all.size(); i++) {
        JsonObject s = all.getJsonObject(i);
        if (only == null || only.equals(s.getString("workspace"))) {
          shares.add(s);
        }
      }
      if (Output.json(output, env)) {
        env.out().println(shares.encodePrettily());
        return 0;
      }
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < shares.size(); i++) {
        JsonObject s = shares.getJsonObject(i);
        JsonArray urls = s.getJsonArray("urls", new JsonArray());
        rows.add(List.of(s.getString("workspace"), s.getString("agent"),
            s.getInteger("port") + (Boolean.TRUE.equals(s.getBoolean("https")) ? " (https)" : ""),
            s.getString("level"), urls.isEmpty() ? "-" : urls.getString(0)));
      }
      Output.table(env.out(), List.of("WORKSPACE", "AGENT", "PORT", "LEVEL", "URL"), rows);
      return 0;
    }
  }

  @Command(name = "unshare", mixinStandardHelpOptions = true,
      description = "Stop sharing a port (it stays reachable by its owner).")
  static final class Unshare implements Callable<Integer> {
    @ParentCommand PortsCommand parent;
    @Parameters(index = "0", paramLabel = "WORKSPACE", description = "NAME, OWNER/NAME or NAME.AGENT")
    String workspace;
    @Parameters(index = "1", paramLabel = "PORT") int port;

    @Override
    public Integer call() {
      Env env = parent.main.env;
      Credentials c = Credentials.load(env);
      c.client().delete(sharePath(c, workspace, port));
      WorkspaceRef ref = WorkspaceRef.parse(workspace);
      env.out().println("port " + port + " of " + (ref.owner() == null ? c.username() : ref.owner())
          + "/" + ref.name() + " (agent " + ref.agentOrDefault() + ") is not shared (owner only)");
      return 0;
    }
  }
}
