package io.relaymesh.cli;

import io.vertx.core.json.JsonObject;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh whoami}. */
@Command(name = "whoami", mixinStandardHelpOptions = true, description = "Show the logged-in user.")
final class WhoamiCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT",
        description = "table or json (default: cli.output, RELAYMESH_CLI_OUTPUT)")
  Output.Format output;

  @Override
  public Integer call() {
    Credentials c = Credentials.load(main.env);
    JsonObject me = c.client().get("/api/v1/me");
    if (Output.json(output, main.env)) {
      main.env.out().println(me.copy().put("url", c.url()).encodePrettily());
    } else {
      main.env.out().println(me.getString("username") + (me.getBoolean("admin", false) ? " (admin)" : "")
          + " at " + c.url());
    }
    return 0;
  }
}
