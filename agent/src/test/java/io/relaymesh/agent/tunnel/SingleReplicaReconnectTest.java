package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code relay-count} 2 (the default) in a region whose control plane lists ONE relay replica (a
 * real test relay): after that tunnel is lost and regained the keeper holds all the tunnels it
 * can, so it asks for the relays less and less often (not once every {@code reconnect-max} for
 * ever), and those look-ups did not raise the reconnect backoff's failure count.
 */
@Timeout(90)
class SingleReplicaReconnectTest {

  @Test
  void oneListedReplicaRegainedStopsTheLookups() throws Exception {
    Vertx vertx = Vertx.vertx();
    AgentMetrics metrics = new AgentMetrics(Metrics.create());
    NetClient net = vertx.createNetClient();
    TunnelKeeper keeper = null;
    try (TestRelay relay = new TestRelay(vertx, "agent-token")) {
      AtomicInteger lookups = new AtomicInteger();
      List<RelayCandidate> one = List.of(new RelayCandidate("eu", "eu-1", "https://127.0.0.1:" + relay.port()));
      Supplier<Future<List<RelayCandidate>>> discovery = () -> {
        lookups.incrementAndGet();
        return Future.succeededFuture(one);
      };
      Duration max = Duration.ofMillis(200);
      Backoff backoff = new Backoff(Duration.ofMillis(20), max, new Random(7));
      keeper = keeper(vertx, relay, discovery, 2, backoff, net, metrics);
      keeper.start();
      relay.nextSession();

      relay.webSockets.get(0).close(); // the tunnel is lost (no GOAWAY)
      relay.nextSession(); // and regained on the same (only) replica
      TunnelKeeper k = keeper;
      MultiRelayAgentTest.waitFor(() -> k.connectedUrls().size() == 1, () -> "tunnel regained");
      Thread.sleep(4 * max.toMillis()); // let a reconcile in flight finish
      int settled = lookups.get();
      Thread.sleep(10 * max.toMillis()); // ten reconnect-max periods
      // after the regain it looks again after reconnect-max, doubling (jittered d/2..d): at most
      // 4 look-ups in 2.8 s (before the fix: one per reconnect-max or less, ~17)
      System.out.printf("one listed replica: %d relay look-ups in the 2 s after the regain settled,"
          + " reconnect backoff failures %d%n", lookups.get() - settled, backoff.failures());
      assertThat(lookups.get() - settled).as("relay look-ups while holding the one listed replica")
          .isLessThanOrEqualTo(4);
      assertThat(backoff.failures()).as("reconnect backoff failures after one loss").isLessThanOrEqualTo(1);
      assertThat(keeper.connectedUrls()).hasSize(1);
      assertThat(relay.sessions).isEmpty(); // no extra tunnel dialed
    } finally {
      if (keeper != null) {
        keeper.stop().await(20, TimeUnit.SECONDS);
      }
      net.close();
      metrics.metrics().close();
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A keeper of {@code count} tunnels to the replicas {@code discovery} lists, trusting
   * {@code relay}'s certificate; streams to a closed port. Not started.
   */
  static TunnelKeeper keeper(Vertx vertx, TestRelay relay,
      Supplier<Future<List<RelayCandidate>>> discovery, int count, Backoff backoff, NetClient net,
      AgentMetrics metrics) throws Exception {
    DialOptions dial = new DialOptions(TrustSpec.pinnedSha256(relay.fingerprint()), null,
        Duration.ofSeconds(10), Duration.ofSeconds(10), TunnelConfig.defaults(), null);
    return new TunnelKeeper(vertx, ((VertxInternal) vertx).createEventLoopContext(),
        TunnelDialer.create(vertx, dial), discovery, new RelayPicker(null, count), "agent-token",
        new StreamAcceptor(net, Duration.ofSeconds(5), null, "127.0.0.1:9", metrics), backoff,
        new Random(7), Duration.ofHours(1), metrics);
  }
}
