package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code relay.listener}: which values turn a limit off and which are refused. */
class ListenerConfigTest {

  private static LoadedConfig<RelayConfig> load(Map<String, ?> listener) {
    java.util.Map<String, Object> flags = new java.util.HashMap<>(Map.of(
        "control-url", "https://cp.example.com", "token", "rt_secret", "region", "eu-west"));
    flags.putAll(listener);
    return ConfigLoader.of("relay", RelayConfig.class).flags(flags).load();
  }

  private static List<String> problems(Map<String, ?> listener) {
    try {
      load(listener);
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  @Test
  void zeroTurnsTheBodyClocksOff() {
    ListenerConfig l = load(Map.of("listener-body-idle-timeout", "0s",
        "listener-body-min-rate", "0")).config().listener();
    assertThat(l.bodyIdleTimeout()).isEqualTo(Duration.ZERO);
    assertThat(l.bodyMinRate()).isZero();
  }

  @Test
  void negativeBodyIdleTimeoutAndZeroHeadTimeoutAreRefusedByKey() {
    assertThat(problems(Map.of("listener-body-idle-timeout", "-1s")))
        .singleElement().asString().startsWith("relay.listener.body-idle-timeout: invalid");
    java.util.List<String> found = new java.util.ArrayList<>();
    ListenerConfig.defaults().withBodyLimits(Duration.ofSeconds(-1), 0)
        .validate("relay.listener", found);
    assertThat(found).containsExactly(
        "relay.listener.body-idle-timeout: must be 0 (off) or positive, got -1s");
    assertThat(problems(Map.of("listener-head-timeout", "0s")))
        .singleElement().asString()
        .startsWith("relay.listener.head-timeout: must be positive, got 0");
  }

  @Test
  void perAddressLimitDefaultsTo4096ZeroTurnsItOffNegativeIsRefusedByKey() {
    assertThat(load(Map.of()).config().listener().maxConnectionsPerAddress())
        .isEqualTo(ListenerConfig.DEFAULT_MAX_CONNECTIONS_PER_ADDRESS).isEqualTo(4096);
    assertThat(load(Map.of("listener-max-connections-per-address", "0")).config().listener()
        .maxConnectionsPerAddress()).isZero();
    assertThat(load(Map.of("listener-max-connections-per-address", "5")).config().listener())
        .isEqualTo(ListenerConfig.defaults().withMaxConnectionsPerAddress(5));
    assertThat(problems(Map.of("listener-max-connections-per-address", "-1")))
        .containsExactly("relay.listener.max-connections-per-address: must be between 0 and "
            + Integer.MAX_VALUE + ", got -1");
  }
}
