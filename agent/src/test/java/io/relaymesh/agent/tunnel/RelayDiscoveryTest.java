package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** Choosing the relay from a {@code GET /api/v1/agent/relays} answer (shape of docs/api.md). */
class RelayDiscoveryTest {
  static final JsonObject ANSWER = new JsonObject("""
      {"regions": [
        {"region": "us", "healthy": false, "replicas": [
          {"region": "us", "replicaId": "us-1", "publicUrl": "https://us-1.example.com", "healthy": false}]},
        {"region": "eu", "healthy": true, "replicas": [
          {"region": "eu", "replicaId": "eu-1", "publicUrl": "https://eu-1.example.com", "healthy": false},
          {"region": "eu", "replicaId": "eu-2", "publicUrl": "https://eu-2.example.com", "healthy": true}]},
        {"region": "ap", "healthy": true, "replicas": [
          {"region": "ap", "replicaId": "ap-1", "publicUrl": "https://ap-1.example.com", "healthy": true}]}
      ]}""");

  @Test
  void healthyReplicasInOrder() {
    assertThat(RelayDiscovery.pick(ANSWER, null, "u")).extracting(c -> c.publicUrl())
        .containsExactly("https://eu-2.example.com", "https://ap-1.example.com");
    assertThat(RelayDiscovery.pick(ANSWER, null, "u").get(0).region()).isEqualTo("eu");
    assertThat(RelayDiscovery.pick(ANSWER, null, "u").get(0).replicaId()).isEqualTo("eu-2");
  }

  @Test
  void pinnedRegion() {
    assertThat(RelayDiscovery.pick(ANSWER, "ap", "u")).extracting(c -> c.publicUrl())
        .containsExactly("https://ap-1.example.com");
    assertThatThrownBy(() -> RelayDiscovery.pick(ANSWER, "us", "http://cp/api/v1/agent/relays"))
        .hasMessage("no healthy relay in region 'us' is registered with the control plane "
            + "(http://cp/api/v1/agent/relays)");
    assertThatThrownBy(() -> RelayDiscovery.pick(new JsonObject().put("regions", new io.vertx.core.json.JsonArray()),
        null, "u")).hasMessageContaining("no healthy relay is registered");
  }
}
