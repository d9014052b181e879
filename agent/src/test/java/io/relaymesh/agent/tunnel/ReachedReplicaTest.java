package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

/** {@link TunnelKeeper#reached}: the replica a tunnel landed on, from the relay's upgrade answer. */
class ReachedReplicaTest {

  static final RelayCandidate AIMED = new RelayCandidate("eu", "eu-1", "https://lb.example:443");

  static DialedTunnel answered(String replicaHeader) {
    MultiMap h = MultiMap.caseInsensitiveMultiMap();
    if (replicaHeader != null) {
      h.add("relaymesh-replica", replicaHeader);
    }
    return new DialedTunnel(null, null, "wss://lb.example:443/api/v1/tunnel/agent", false, h);
  }

  @Test
  void theReplicaNamedByTheRelayThroughTheAimedUrl() {
    RelayCandidate r = TunnelKeeper.reached(AIMED, answered("eu/eu-2"));
    assertThat(r).isEqualTo(new RelayCandidate("eu", "eu-2", "https://lb.example:443"));
    assertThat(r.key()).isEqualTo("eu-2");
  }

  @Test
  void theAimedReplicaWhenTheRelayNamesIt() {
    assertThat(TunnelKeeper.reached(AIMED, answered(" eu/eu-1 "))).isSameAs(AIMED);
  }

  @Test
  void theAimedReplicaWhenTheRelaySaysNothingUsable() {
    assertThat(TunnelKeeper.reached(AIMED, answered(null))).isSameAs(AIMED); // an older relay
    assertThat(TunnelKeeper.reached(AIMED, answered(""))).isSameAs(AIMED);
    assertThat(TunnelKeeper.reached(AIMED, answered("eu/"))).isSameAs(AIMED);
    assertThat(TunnelKeeper.reached(AIMED, answered("eu/" + "x".repeat(300)))).isSameAs(AIMED);
    assertThat(TunnelKeeper.reached(AIMED, new DialedTunnel(null, null, "wss://x:1/", false))).isSameAs(AIMED);
  }

  @Test
  void aRelayGivenByUrlOnlyLearnsRegionAndReplica() {
    RelayCandidate byUrl = new RelayCandidate(null, null, "https://relay.example");
    assertThat(TunnelKeeper.reached(byUrl, answered("us/us-3")))
        .isEqualTo(new RelayCandidate("us", "us-3", "https://relay.example"));
    // no region in the answer: the aimed one's (none here)
    assertThat(TunnelKeeper.reached(byUrl, answered("r7")))
        .isEqualTo(new RelayCandidate(null, "r7", "https://relay.example"));
  }
}
