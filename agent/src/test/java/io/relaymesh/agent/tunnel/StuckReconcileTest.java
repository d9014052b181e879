package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.dial.RelayCandidate;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A step of the agent's relay check that never completes must not leave the agent waiting
 * silently: a reconcile still listing or measuring after its limit is given up and retried, and
 * its late answer does nothing more (the relay-list request's own timeout: RelayDiscoveryHangTest).
 */
@Timeout(90)
class StuckReconcileTest {

  @Test
  void aReconcileThatNeverFinishesIsGivenUpAndRetried() throws Exception {
    try (KeeperRig rig = new KeeperRig()) {
      AtomicInteger lookups = new AtomicInteger();
      List<RelayCandidate> one = rig.oneReplica();
      Promise<List<RelayCandidate>> stuck = Promise.promise();
      Supplier<Future<List<RelayCandidate>>> discovery = () ->
          lookups.incrementAndGet() == 1
              ? stuck.future() // completes only after it was given up on
              : Future.succeededFuture(one);
      Backoff backoff = new Backoff(Duration.ofMillis(20), Duration.ofMillis(200), new Random(7));
      TunnelKeeper keeper = rig.keeper(discovery, 1, backoff)
          .reconcileLimit(Duration.ofSeconds(2));
      keeper.start();
      MultiRelayAgentTest.waitFor(() -> keeper.connectedUrls().size() == 1,
          () -> "a tunnel after the stuck reconcile was given up (look-ups " + lookups.get() + ")");
      assertThat(lookups.get()).isEqualTo(2);
      assertThat(backoff.failures()).as("the stuck reconcile counted as a failed attempt")
          .isEqualTo(1);
      rig.relay.nextSession();
      stuck.complete(one); // the given-up reconcile's answer comes late: it does nothing more
      Thread.sleep(500);
      assertThat(rig.relay.sessions).as("tunnels dialed after the late answer").isEmpty();
      assertThat(keeper.connectedUrls()).hasSize(1);
    }
  }
}
