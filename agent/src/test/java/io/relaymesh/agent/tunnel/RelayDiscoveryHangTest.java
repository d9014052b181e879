package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A control plane that accepts connections but never answers (a hung process: the kernel
 * completes the handshake into the listen backlog): the relay look-up fails within its timeout
 * and names the control plane, so the agent's reconnect attempts go on (before, it waited for as
 * long as the control plane hung).
 */
class RelayDiscoveryHangTest {

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aControlPlaneThatNeverAnswersFailsTheLookUpInTime() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (ServerSocket hung = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      HttpClient http = vertx.createHttpClient();
      String url = "http://127.0.0.1:" + hung.getLocalPort();
      RelayDiscovery discovery = new RelayDiscovery(http, url, "rma_token", null,
          Duration.ofMillis(500));
      long t0 = System.nanoTime();
      Throwable failure = discovery.findRelays().toCompletionStage().toCompletableFuture()
          .handle((ok, e) -> e).get(20, TimeUnit.SECONDS);
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      assertThat(failure).as("the look-up of a hung control plane (%d ms)", tookMs).isNotNull();
      assertThat(failure.getMessage()).contains("cannot reach the control plane " + url
          + "/api/v1/agent/relays").contains("timeout").doesNotContain("rma_token");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
