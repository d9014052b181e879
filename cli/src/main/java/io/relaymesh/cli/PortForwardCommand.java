package io.relaymesh.cli;

import io.relaymesh.cli.tunnel.PortForwarder;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code relaymesh port-forward}: local TCP listeners forwarded to workspace loopback ports. */
@Command(name = "port-forward", mixinStandardHelpOptions = true,
    description = "Forward local TCP ports to ports on the workspace's loopback interface.")
final class PortForwardCommand implements Callable<Integer> {

  @ParentCommand Main main;

  @Parameters(index = "0", paramLabel = "WORKSPACE", description = "NAME, OWNER/NAME or NAME.AGENT")
  String workspace;

  @Option(names = "--tcp", paramLabel = "[BIND:]LOCAL:REMOTE", required = true,
      description = "e.g. 8080:3000 (repeatable); LOCAL 0 picks a free port")
  List<String> tcp;

  @Option(names = "--region", paramLabel = "R", description = "Use a relay of this region.")
  String region;

  /** Tickets per remote port, renewed in the background before they expire. */
  final Map<Integer, JsonObject> tickets = new ConcurrentHashMap<>();
  /** The relay the next dial goes to; null after a lost tunnel: chosen again. */
  private volatile String relay;
  /** The relay of the last tunnel, for when the control plane cannot name the current ones. */
  private volatile String lastRelay;

  @Override
  public Integer call() throws Exception {
    List<PortForwarder.Mapping> mappings = new ArrayList<>();
    for (String spec : tcp) {
      try {
        mappings.add(PortForwarder.Mapping.parse(spec));
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage());
      }
    }
    WorkspaceRef ref = WorkspaceRef.parse(workspace);
    ClientTunnel tunnel = new ClientTunnel(main.env, ref, region);
    try {
      for (PortForwarder.Mapping m : mappings) {
        tickets.put(m.remotePort(), tunnel.ticket(m.remotePort()));
      }
      int first = mappings.get(0).remotePort();
      relay = tunnel.relayUrl(tickets.get(first));
      PortForwarder fwd = new PortForwarder(tunnel.vertx,
          () -> tunnel.vertx.executeBlocking(() -> dial(tunnel, first)).map(DialedTunnel::session),
          port -> Buffer.buffer(new JsonObject().put("ticket", tickets.get(port).getString("ticket"))
              .encode()));
      tunnel.vertx.setPeriodic(10_000, id -> tunnel.vertx.executeBlocking(() -> {
        tickets.keySet().forEach(p -> ticket(tunnel, p));
        return null;
      }));
      List<Integer> ports = ClientTunnel.await(fwd.start(mappings), Duration.ofSeconds(30));
      for (int i = 0; i < mappings.size(); i++) {
        PortForwarder.Mapping m = mappings.get(i);
        main.env.out().println("forwarding " + m.bindHost() + ":" + ports.get(i) + " -> "
            + ref + " 127.0.0.1:" + m.remotePort());
      }
      main.env.out().flush();
      ShutdownHook.install(() -> {
        stopping = true;
        ClientTunnel.await(fwd.close(), Duration.ofSeconds(5));
      })
          .awaitStopped();
      return 0;
    } finally {
      tunnel.close();
    }
  }

  /**
   * Dials the relay for the shared tunnel: at first the one chosen at start; after a tunnel was
   * lost (its relay killed, partitioned, restarted elsewhere) one chosen again from a fresh
   * ticket answer, which names the relays holding the agent now (the old one when the control
   * plane cannot answer). A lost tunnel is reported on stderr once, with its relay: the
   * connections it carried were reset, the next connection dials again.
   */
  private DialedTunnel dial(ClientTunnel tunnel, int port) {
    String url = relay;
    if (url == null) {
      try {
        JsonObject fresh = tunnel.ticket(port);
        tickets.put(port, fresh);
        url = tunnel.relayUrl(fresh);
      } catch (CliException e) {
        if (lastRelay == null) {
          main.env.err().println("relaymesh port-forward: " + e.getMessage());
          throw e; // no tunnel dialled yet: there is no relay to fall back to
        }
        main.env.err().println("relaymesh port-forward: cannot choose a relay again (" + e.getMessage()
            + "); trying " + lastRelay);
        url = lastRelay;
      }
    }
    DialedTunnel t;
    try {
      t = tunnel.dial(url, ticket(tunnel, port));
    } catch (CliException e) {
      relay = null; // choose again next time
      main.env.err().println("relaymesh port-forward: " + e.getMessage());
      throw e;
    }
    String through = tunnel.dialedRelayUrl() != null ? tunnel.dialedRelayUrl() : url;
    relay = through;
    lastRelay = through;
    t.session().closeFuture().onComplete(ar -> {
      if (!stopping) {
        relay = null;
        main.env.err().println("relaymesh port-forward: lost the tunnel to relay " + through
            + "; connections through it were reset, the next one dials again");
      }
    });
    return t;
  }

  private volatile boolean stopping;

  /** A ticket is renewed when less than this is left. */
  static final Duration RENEW_BEFORE = Duration.ofSeconds(60);

  /**
   * The current ticket for {@code port}, renewed when less than {@link #RENEW_BEFORE} is left;
   * while the control plane is down the current one, until it expires
   * ({@link ClientTunnel#freshOrStillValid}).
   */
  String ticket(ClientTunnel tunnel, int port) {
    JsonObject t = tickets.get(port);
    if (t == null || ClientTunnel.remaining(t, Instant.now()).compareTo(RENEW_BEFORE) < 0) {
      t = tunnel.freshOrStillValid(port, t);
      tickets.put(port, t);
    }
    return t.getString("ticket");
  }
}
