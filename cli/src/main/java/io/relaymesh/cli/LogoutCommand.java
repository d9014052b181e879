package io.relaymesh.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh logout}: revokes the session and forgets it. */
@Command(name = "logout", mixinStandardHelpOptions = true,
    description = "Revoke the stored session and delete it.")
final class LogoutCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Override
  public Integer call() {
    Env env = main.env;
    Credentials c = Credentials.load(env);
    try {
      c.client().post("/api/v1/logout", null);
    } catch (CliException e) {
      // the local session is removed either way; say why the server did not confirm
      Credentials.delete(env);
      throw new CliException("removed the local session, but the control plane at " + c.url()
          + " did not confirm the logout: " + e.getMessage());
    }
    Credentials.delete(env);
    env.out().println("logged out " + c.username() + " from " + c.url());
    return 0;
  }
}
