package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.dial.RelayCandidate;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.Random;
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
    try (KeeperRig rig = new KeeperRig()) {
      TestRelay relay = rig.relay;
      AtomicInteger lookups = new AtomicInteger();
      List<RelayCandidate> one = rig.oneReplica();
      Supplier<Future<List<RelayCandidate>>> discovery = () -> {
        lookups.incrementAndGet();
        return Future.succeededFuture(one);
      };
      Duration max = Duration.ofMillis(200);
      Backoff backoff = new Backoff(Duration.ofMillis(20), max, new Random(7));
      TunnelKeeper keeper = rig.keeper(discovery, 2, backoff);
      keeper.start();
      relay.nextSession();

      relay.webSockets.get(0).close(); // the tunnel is lost (no GOAWAY)
      relay.nextSession(); // and regained on the same (only) replica
      MultiRelayAgentTest.waitFor(() -> keeper.connectedUrls().size() == 1, () -> "tunnel regained");
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
    }
  }
}
