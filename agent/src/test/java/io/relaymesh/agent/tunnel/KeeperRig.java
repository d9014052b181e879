package io.relaymesh.agent.tunnel;

import io.relaymesh.agent.AgentMetrics;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.NetClient;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One {@link TestRelay} and a {@link TunnelKeeper} that dials it with the discovery a test gives
 * (streams go to a closed port); {@link #close} stops the keeper, then everything else.
 */
final class KeeperRig implements AutoCloseable {
  final Vertx vertx = Vertx.vertx();
  final AgentMetrics metrics = new AgentMetrics(Metrics.create());
  final NetClient net = vertx.createNetClient();
  final TestRelay relay;
  private TunnelKeeper keeper;

  KeeperRig() throws Exception {
    relay = new TestRelay(vertx, "agent-token");
  }

  /** The one listed replica: the test relay, as {@code eu/eu-1}. */
  List<RelayCandidate> oneReplica() {
    return List.of(new RelayCandidate("eu", "eu-1", "https://127.0.0.1:" + relay.port()));
  }

  /** A keeper of {@code count} tunnels to the replicas {@code discovery} lists; not started. */
  TunnelKeeper keeper(Supplier<Future<List<RelayCandidate>>> discovery, int count,
      Backoff backoff) throws Exception {
    DialOptions dial = new DialOptions(TrustSpec.pinnedSha256(relay.fingerprint()), null,
        Duration.ofSeconds(10), Duration.ofSeconds(10), TunnelConfig.defaults(), null);
    keeper = new TunnelKeeper(vertx, ((VertxInternal) vertx).createEventLoopContext(),
        TunnelDialer.create(vertx, dial), discovery, new RelayPicker(null, count), "agent-token",
        new StreamAcceptor(net, Duration.ofSeconds(5), null, "127.0.0.1:9", metrics), backoff,
        new Random(7), Duration.ofHours(1), metrics);
    return keeper;
  }

  @Override
  public void close() throws Exception {
    try {
      if (keeper != null) {
        keeper.stop().await(20, TimeUnit.SECONDS);
      }
      relay.close();
    } finally {
      net.close();
      metrics.metrics().close();
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
