package io.relaymesh.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code relaymesh} executable. */
@Command(
    name = "relaymesh",
    mixinStandardHelpOptions = true,
    version = "relaymesh 0.1.0-SNAPSHOT",
    description = "Tunnel and connection proxy for remote development workspaces.",
    subcommands = {
        ServerCommand.class,
        LoginCommand.class,
        LogoutCommand.class,
        WhoamiCommand.class,
        WorkspacesCommand.class,
        RelaysCommand.class,
        RelayCommand.class,
        AgentCommand.class,
        DevCommand.class,
        PortsCommand.class,
        SshCommand.class,
        ConfigSshCommand.class,
        PortForwardCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  final Env env;

  public Main(Env env) {
    this.env = env;
  }

  @Override
  public void run() {
    spec.commandLine().usage(env.out());
  }

  /** Runs the CLI with {@code env}; returns the exit code. */
  public static int run(Env env, String... args) {
    Main main = new Main(env);
    CommandLine cl = new CommandLine(main);
    cl.setOut(new PrintWriter(env.out(), true));
    cl.setErr(new PrintWriter(env.err(), true));
    cl.setExecutionExceptionHandler((e, line, parsed) -> {
      String msg = e instanceof CliException ? e.getMessage()
          : e.getMessage() != null ? e.getMessage() : e.toString();
      env.err().println("relaymesh: " + msg);
      if (main.verbose) {
        e.printStackTrace(env.err());
      }
      return 1;
    });
    cl.setParameterExceptionHandler((e, a) -> {
      env.err().println("relaymesh: " + e.getMessage() + " (see '"
          + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
      return 2;
    });
    return cl.execute(args);
  }

  public static void main(String[] args) {
    System.exit(run(Env.system(), args));
  }
}
