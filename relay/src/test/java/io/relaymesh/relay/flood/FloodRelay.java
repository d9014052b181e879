package io.relaymesh.relay.flood;

import static io.relaymesh.proxy.testutil.Await.await;

import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real control plane (fresh database on the shared embedded PostgreSQL) and a real relay on
 * 127.0.0.1:0 whose tunnel limits are small, so that each flood trips its limit in well under a
 * second and a dead peer is found in seconds ({@link #TUNNEL}).
 */
final class FloodRelay implements AutoCloseable {

  /**
   * The relay's tunnel limits here (defaults in brackets): 32 concurrent streams [1024], 128 KiB
   * initial stream window [1 MiB], opens 200/s [2000], resets 50/s [1000], PINGs 10/s [10],
   * keepalive 1 s [15 s], dead peer 3 s [45 s]. The defences are the same code; only the numbers
   * shrink so the floods stay short.
   */
  static final TunnelConfig TUNNEL = TunnelConfig.defaults()
      .withMaxConcurrentStreams(32)
      .withWindows(128 * 1024, TunnelConfig.DEFAULT_MAX_STREAM_WINDOW)
      .withRates(200, 50, 10)
      .withTimeouts(TunnelConfig.DEFAULT_OPEN_TIMEOUT, Duration.ZERO, Duration.ofSeconds(1),
          Duration.ofSeconds(3));

  final Control control;
  final Vertx vertx;
  final RelayServer relay;
  final String adminToken;

  FloodRelay(Path dir) {
    control = Control.startOnNewDatabase(dir.resolve("control"));
    adminToken = control.setupAdmin();
    String relayToken = control.createRegion(adminToken, "eu");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    Duration authTtl = Duration.ofSeconds(1);
    relay = await(RelayServer.start(vertx, RelayConfig.defaults()
        .withControl(control.server.url(), relayToken, "eu").withListen("127.0.0.1:0")
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("relay-tls")))
        .withAgentAuthTtl(authTtl, authTtl).withTunnel(TUNNEL)));
  }

  String user(String name) {
    return control.createUser(adminToken, name);
  }

  /** Creates workspace {@code name} and returns its agent token. */
  String workspace(String userToken, String name) {
    return control.createWorkspace(userToken, name).getString("agentToken");
  }

  /** A client ticket for {@code port} of {@code workspace}. */
  String ticket(String userToken, String workspace, int port) {
    return control.ticket(userToken, workspace, port, null).getString("ticket");
  }

  /** {@code relaymesh_relay_refusals_total{reason="<reason>"}} as the relay's /metrics serves it. */
  double refusals(String reason) {
    return sample("relaymesh_relay_refusals_total", "reason=\"" + reason + "\"");
  }

  /** The value of the first sample of {@code name} whose labels contain {@code label}, or 0. */
  double sample(String name, String label) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$")
        .matcher(relay.metrics().scrape());
    while (m.find()) {
      if (m.group(1).contains(label)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return 0;
  }

  /**
   * What the process holds: heap in use after a full collection plus Netty's direct memory (its
   * own counter, or the pooled allocator's arenas when the counter is off). Relay and test share
   * the JVM; the hostile peers hold nothing (blocking sockets), so growth under a flood is the
   * relay's.
   */
  static long footprint() {
    for (int i = 0; i < 2; i++) {
      System.gc();
    }
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long direct = PlatformDependent.usedDirectMemory();
    if (direct < 0) {
      direct = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }
    return heap + direct;
  }

  @Override
  public void close() {
    relay.stop();
    try {
      await(vertx.close());
    } catch (AssertionError e) {
      // seen in CI (3 of 8 runs), after every test had passed and the relay had stopped. Twice
      // after Vert.x's "promise already done" on a force-closed never-reading peer (that cause
      // is fixed, WebSocketCloseTest), once without it: another cause, not traced
      // (docs/security.md, known limits). Reported, not failed: the tests assert the relay's
      // behaviour under the floods, not its shutdown.
      System.err.println("FloodRelay: the test Vert.x did not close within 30 s: " + e);
    }
    control.close();
  }
}
