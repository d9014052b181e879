package io.relaymesh.cli;

import io.relaymesh.telemetry.log.LogFormat;
import io.relaymesh.telemetry.log.LogLevels;
import io.relaymesh.telemetry.log.LogSetup;
import java.io.PrintWriter;
import java.util.Set;
import org.slf4j.bridge.SLF4JBridgeHandler;
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

  @Option(names = "--log-format", paramLabel = "FORMAT", scope = CommandLine.ScopeType.INHERIT,
      description = "Log lines of server, relay, agent and dev on stderr: logfmt (default) or "
          + "json; env RELAYMESH_LOG_FORMAT. Other commands print terse lines unless this is given.")
  String logFormat;

  @Option(names = "--log-level", paramLabel = "LEVEL", scope = CommandLine.ScopeType.INHERIT,
      description = "trace, debug, info (default), warn, error or off for Relaymesh's own logs, "
          + "then optional logger=level pairs: info,io.netty=debug; env RELAYMESH_LOG_LEVEL.")
  String logLevel;

  /** The long-running commands whose logs operators collect: structured format by default. */
  static final Set<String> SERVICES = Set.of("server", "relay", "agent", "dev");

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
    Integer quick = proxyCommand(env, args);
    if (quick != null) {
      return quick;
    }
    Main main = new Main(env);
    CommandLine cl = new CommandLine(main);
    cl.setOut(new PrintWriter(env.out(), true));
    cl.setErr(new PrintWriter(env.err(), true));
    cl.setExecutionStrategy(parsed -> {
      StartupTrace.mark("parsed");
      main.configureLogging(parsed);
      StartupTrace.mark("logging");
      return new CommandLine.RunLast().execute(parsed);
    });
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

  /**
   * The ProxyCommand form {@code ssh --stdio [--region R] HOST} that {@code ssh} and
   * {@code config-ssh} write, run without picocli: building picocli's model of every subcommand
   * by reflection took a third of that command's start (and picocli's classes, compiled for Java
   * 5, cannot go into the class-data-sharing archive). Errors are reported as picocli's
   * execution-exception handler reports them. Null: any other command line (or a log setting
   * picocli should reject), for {@link #run}.
   */
  static Integer proxyCommand(Env env, String... args) {
    SshCommand ssh = SshCommand.proxyCommandForm(args);
    if (ssh == null) {
      return null;
    }
    Main main = new Main(env);
    ssh.main = main;
    // as configureLogging for a client command without options: RELAYMESH_LOG_FORMAT is for
    // services, RELAYMESH_LOG_LEVEL applies
    String lvl = blankToNull(env.vars().get("RELAYMESH_LOG_LEVEL"));
    LogLevels levels;
    try {
      levels = lvl == null ? null : LogLevels.parse(lvl);
    } catch (IllegalArgumentException e) {
      return null;
    }
    main.applyLogging(null, levels);
    StartupTrace.mark("logging");
    try {
      return ssh.call();
    } catch (Exception e) {
      String msg = e instanceof CliException ? e.getMessage()
          : e.getMessage() != null ? e.getMessage() : e.toString();
      env.err().println("relaymesh: " + msg);
      return 1;
    }
  }

  /**
   * Applies {@code --log-format} / {@code --log-level} (else {@code RELAYMESH_LOG_FORMAT} /
   * {@code RELAYMESH_LOG_LEVEL}) before the command starts anything. Service commands log in the
   * structured format (logfmt by default); client commands keep terse text lines on the user's
   * terminal unless {@code --log-format} is given. JUL records are routed to SLF4J so that every
   * log line has the same format.
   */
  void configureLogging(CommandLine.ParseResult parsed) {
    CommandLine.ParseResult sub = parsed.subcommand();
    boolean service = sub != null && SERVICES.contains(sub.commandSpec().name());
    CommandLine cl = parsed.commandSpec().commandLine();
    String fmt = logFormat != null ? logFormat
        : service ? blankToNull(env.vars().get("RELAYMESH_LOG_FORMAT")) : null;
    String lvl = logLevel != null ? logLevel : blankToNull(env.vars().get("RELAYMESH_LOG_LEVEL"));
    LogFormat format;
    LogLevels levels;
    try {
      format = fmt != null ? LogFormat.parse(fmt) : service ? LogFormat.LOGFMT : null;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl,
          (logFormat != null ? "--log-format: " : "RELAYMESH_LOG_FORMAT: ") + e.getMessage());
    }
    try {
      levels = lvl != null ? LogLevels.parse(lvl) : null;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl,
          (logLevel != null ? "--log-level: " : "RELAYMESH_LOG_LEVEL: ") + e.getMessage());
    }
    applyLogging(format, levels);
  }

  private void applyLogging(LogFormat format, LogLevels levels) {
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
    LogSetup.apply(format, levels);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  public static void main(String[] args) {
    StartupTrace.mark("main");
    int code = run(Env.system(), args);
    StartupTrace.mark("exit");
    System.exit(code);
  }
}
