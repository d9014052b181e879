package io.relaymesh.relay;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The readiness rule of {@code /readyz} and {@code relaymesh_relay_ready}, reason by reason (the
 * end-to-end cases: not registered in {@code RelayHttpTest}, draining in {@code RelayMetricsTest}).
 */
class RelayReadinessTest {

  @Test
  void readyOnlyWhenRegisteredTlsLoadedAndNotDraining() {
    assertThat(RelayServer.notReadyReason(false, null, true, null)).isNull();
  }

  @Test
  void notRegistered() {
    assertThat(RelayServer.notReadyReason(false, null, true, "not registered with the control"
        + " plane yet")).contains("not registered");
  }

  @Test
  void tlsNotLoaded() {
    assertThat(RelayServer.notReadyReason(false, null, false, null))
        .isEqualTo("TLS material is not loaded");
  }

  @Test
  void draining() {
    assertThat(RelayServer.notReadyReason(false, "relay is draining", true, null))
        .startsWith("draining");
  }

  @Test
  void closingWinsOverEverythingElse() {
    assertThat(RelayServer.notReadyReason(true, "relay is draining", false, "x"))
        .isEqualTo("relay is shutting down");
  }
}
