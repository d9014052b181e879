package io.relaymesh.cli;

import io.relaymesh.cli.tunnel.StdioPipe;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh ssh}: SSH into a workspace through the relay holding its agent. */
@Command(name = "ssh", mixinStandardHelpOptions = true,
    description = {"SSH into a workspace with the system ssh client, through a relay.",
        "With --stdio: the ProxyCommand form (ssh -o ProxyCommand='relaymesh ssh --stdio %h')."})
final class SshCommand implements Callable<Integer> {

  /** The SSH port tickets name for the workspace's SSH server. */
  static final int SSH_PORT = 22;

  @ParentCommand Main main;

  @Parameters(index = "0", paramLabel = "WORKSPACE",
      description = "NAME, OWNER/NAME or NAME.AGENT (also relaymesh.NAME as ssh passes it)")
  String workspace;

  @Parameters(index = "1..*", paramLabel = "COMMAND", description = "remote command (after --)")
  List<String> command = new ArrayList<>();

  @Option(names = "--stdio", description = "Connect stdin/stdout to the workspace's SSH server.")
  boolean stdio;

  @Option(names = "--region", paramLabel = "R", description = "Use a relay of this region.")
  String region;

  /**
   * The command {@code args} name when they are exactly the ProxyCommand form
   * {@code ssh --stdio [--region R] HOST} (HOST not an option), else null.
   */
  static SshCommand proxyCommandForm(String... args) {
    int n = args.length;
    if ((n != 3 && n != 5) || !"ssh".equals(args[0]) || !"--stdio".equals(args[1])) {
      return null;
    }
    SshCommand c = new SshCommand();
    c.stdio = true;
    if (n == 5) {
      if (!"--region".equals(args[2]) || args[3].startsWith("-")) {
        return null;
      }
      c.region = args[3];
    }
    c.workspace = args[n - 1];
    return c.workspace.startsWith("-") || c.workspace.isEmpty() ? null : c;
  }

  @Override
  public Integer call() throws Exception {
    WorkspaceRef ref = WorkspaceRef.parse(workspace);
    return stdio ? stdio(ref) : runSsh(ref);
  }

  private int stdio(WorkspaceRef ref) {
    try (ClientTunnel tunnel = new ClientTunnel(main.env, ref, region, SSH_PORT)) {
      StartupTrace.mark("client tunnel");
      Connected c;
      try {
        c = connect(tunnel);
      } catch (CliException e) {
        if (!tunnel.ticketFromCache()) {
          throw e;
        }
        // the reused ticket or the relays its answer named no longer work: ask the control plane
        tunnel.forgetTicket(SSH_PORT);
        c = connect(tunnel);
      }
      try {
        ClientTunnel.await(StdioPipe.start(c.dialed.session().context(), c.stream, c.stream,
            main.env.in(), main.env.out()), java.time.Duration.ofDays(365));
      } catch (RuntimeException e) {
        // e.g. the relay died: say which connection broke, not only the stream's reset code
        throw new CliException("lost the SSH connection to workspace '" + ref + "' through relay "
            + c.through + ": " + e.getMessage(), e);
      }
      return 0;
    }
  }

  private record Connected(DialedTunnel dialed, String through, Stream stream) {}

  private Connected connect(ClientTunnel tunnel) {
    JsonObject ticket = tunnel.reusableTicket(SSH_PORT);
    StartupTrace.mark(tunnel.ticketFromCache() ? "ticket (cached)" : "ticket");
    String relayUrl = tunnel.relayUrl(ticket);
    StartupTrace.mark("relay chosen");
    DialedTunnel dialed = tunnel.dial(relayUrl, ticket.getString("ticket"));
    StartupTrace.mark("relay dialed");
    String through = tunnel.dialedRelayUrl(); // another than relayUrl if that one failed
    Stream stream;
    try {
      stream = tunnel.open(dialed.session(), WireSpec.KIND_SSH, "", null, "SSH");
    } catch (RuntimeException e) {
      dialed.session().context().runOnContext(v ->
          dialed.session().close(ErrorCode.CANCEL, "stream refused"));
      throw e;
    }
    StartupTrace.mark("stream open");
    return new Connected(dialed, through, stream);
  }

  private int runSsh(WorkspaceRef ref) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ssh",
        "-o", "ProxyCommand=" + Self.command(main.env) + " ssh --stdio"
            + (region == null ? "" : " --region " + region) + " %h",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", ref.sshHost()));
    if (!command.isEmpty()) {
      cmd.add("--");
      cmd.addAll(command);
    }
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    return p.waitFor();
  }
}
