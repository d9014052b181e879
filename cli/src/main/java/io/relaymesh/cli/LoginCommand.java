package io.relaymesh.cli;

import io.vertx.core.json.JsonObject;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh login URL}. */
@Command(name = "login", mixinStandardHelpOptions = true,
    description = "Log in to a control plane and store the session under $RELAYMESH_CONFIG_DIR.")
final class LoginCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Parameters(index = "0", paramLabel = "URL", description = "Control-plane URL.")
  String url;

  @Option(names = {"-u", "--username"}, paramLabel = "USER") String username;

  @Option(names = "--password-stdin", description = "Read the password from stdin.")
  boolean passwordStdin;

  @Option(names = "--token", paramLabel = "TOKEN",
      description = "Use an existing session token instead of a password (also from RELAYMESH_SESSION_TOKEN).")
  String token;

  @Override
  public Integer call() {
    Env env = main.env;
    String t = token != null ? token : env.vars().get("RELAYMESH_SESSION_TOKEN");
    ControlClient anon = new ControlClient(url, null);
    if (t == null) {
      String user = username;
      if (user == null) {
        if (env.console() == null) {
          throw new CliException("--username is required when there is no terminal to prompt on");
        }
        user = env.console().readLine("username: ");
      }
      String password;
      if (passwordStdin) {
        password = env.readStdinLine("password");
      } else if (env.console() != null) {
        char[] p = env.console().readPassword("password for %s: ", user);
        password = p == null ? "" : new String(p);
      } else {
        throw new CliException("no terminal to prompt for the password; use --password-stdin or --token");
      }
      JsonObject r = anon.post("/api/v1/login",
          new JsonObject().put("username", user).put("password", password));
      t = r.getString("token");
    } else if (passwordStdin || username != null) {
      throw new CliException("--token cannot be combined with --username or --password-stdin");
    }
    ControlClient client = new ControlClient(url, t);
    JsonObject me = client.get("/api/v1/me");
    new Credentials(client.base(), me.getString("username"), t).save(env);
    env.out().println("logged in to " + client.base() + " as " + me.getString("username")
        + (me.getBoolean("admin", false) ? " (admin)" : ""));
    return 0;
  }
}
