package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.ControlConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The control plane's app settings: defaults, validation messages, the low-port rule. */
class AppConfigTest {

  static List<String> problems(ControlConfig c) {
    List<String> out = new ArrayList<>();
    c.validate("server", out);
    return out;
  }

  static ControlConfig base() {
    return ControlConfig.defaults().withDataDir(Path.of("/tmp/relaymesh-unused"));
  }

  @Test
  void defaultsAreASixtySecondTokenAndNoLowPorts() {
    ControlConfig c = base();
    assertThat(c.appTokenTtl()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.appAllowedLowPorts()).isEmpty();
    assertThat(problems(c)).isEmpty();
    assertThat(c.appPortAllowed(1024)).isTrue();
    assertThat(c.appPortAllowed(65535)).isTrue();
    assertThat(c.appPortAllowed(80)).isFalse();
    assertThat(c.appPortAllowed(1023)).isFalse();
    // the positional constructor from before apps existed still works, with the defaults
    ControlConfig old = new ControlConfig("127.0.0.1:0", null, Path.of("/tmp/x"), null, true,
        Duration.ofDays(1), Duration.ofMinutes(2), Duration.ofSeconds(30), Duration.ofDays(1));
    assertThat(old.appTokenTtl()).isEqualTo(ControlConfig.DEFAULT_APP_TOKEN_TTL);
    assertThat(old.appAllowedLowPorts()).isEmpty();
  }

  @Test
  void listedLowPortsAreAllowed() {
    ControlConfig c = base().withAppAllowedLowPorts(List.of("80", " 443"));
    assertThat(problems(c)).isEmpty();
    assertThat(c.appPortAllowed(80)).isTrue();
    assertThat(c.appPortAllowed(443)).isTrue();
    assertThat(c.appPortAllowed(22)).isFalse();
  }

  @Test
  void invalidValuesAreReportedWithKeyAndReason() {
    assertThat(problems(base().withAppTokenTtl(Duration.ofSeconds(5)))).containsExactly(
        "server.app-token-ttl: must be between 10s and 10m, got 5s");
    assertThat(problems(base().withAppTokenTtl(Duration.ofHours(1)))).containsExactly(
        "server.app-token-ttl: must be between 10s and 10m, got 1h");
    assertThat(problems(base().withAppTokenTtl(Duration.ZERO))).containsExactly(
        "server.app-token-ttl: must be positive, got 0s");
    assertThat(problems(base().withAppAllowedLowPorts(List.of("80", "http", "8080", "0"))))
        .containsExactly(
            "server.app-allowed-low-ports: \"http\" is not a port between 1 and 1023 (ports from"
                + " 1024 up are always allowed)",
            "server.app-allowed-low-ports: \"8080\" is not a port between 1 and 1023 (ports from"
                + " 1024 up are always allowed)",
            "server.app-allowed-low-ports: \"0\" is not a port between 1 and 1023 (ports from"
                + " 1024 up are always allowed)");
  }
}
