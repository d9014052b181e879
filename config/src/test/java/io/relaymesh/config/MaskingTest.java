package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MaskingTest {

  private static final String TOKEN = "rt_9f8e7d6c5b4a";

  @Test
  void toStringMasksSecretsIncludingNestedOnes() {
    Sample s = new Sample("n", 1, 2, true, 0.5, Duration.ofSeconds(1), Path.of("/d"), 3, 4,
        Sample.Mode.FAST, List.of("t"), "pw-123", new Sample.Inner("h", "key-456", null));
    assertThat(s.toString()).isEqualTo("Sample[name=n, count=1, big=2, enabled=true, ratio=0.5,"
        + " timeout=PT1S, dir=/d, buffer=3, frame=4, mode=FAST, tags=[t], password=******,"
        + " inner=Inner[host=h, apiKey=******, idleTimeout=null]]");
    assertThat(s.inner().toString()).doesNotContain("key-456");
  }

  @Test
  void unsetSecretShowsNullSoAbsenceIsVisible() {
    assertThat(RelayConfig.defaults().toString()).contains("token=null");
  }

  @Test
  void relayToStringNeverContainsTheToken() {
    RelayConfig relay = ConfigLoader.of("relay", RelayConfig.class)
        .flags(Map.of("control-url", "https://cp", "token", TOKEN, "region", "eu")).load()
        .config();
    assertThat(relay.token()).isEqualTo(TOKEN);
    assertThat(relay.toString()).contains("token=******").doesNotContain(TOKEN);
  }

  @Test
  void describeShowsEffectiveValuesWithSourcesAndMasksSecrets() {
    LoadedConfig<AgentConfig> loaded = ConfigLoader.of("agent", AgentConfig.class)
        .env(Map.of("RELAYMESH_AGENT_TOKEN", TOKEN))
        .flag("url", "https://cp.example.com").flag("tunnel-max-frame-size", "1MiB").load();
    assertThat(loaded.describe()).isEqualTo(String.join("\n",
        "agent.url                   = https://cp.example.com  --url",
        "agent.token                 = ******                  RELAYMESH_AGENT_TOKEN",
        "agent.region                = <unset>                 default",
        "agent.ssh-target            = builtin                 default",
        "agent.relay-count           = 2                       default",
        "agent.tunnel.max-frame-size = 1MiB                    --tunnel-max-frame-size",
        ""));
    assertThat(loaded.toString()).doesNotContain(TOKEN);
  }

  @Test
  void describeWritesDurationsAndListsAsAUserWould() {
    String text = ConfigLoader.of("sample", Sample.class).flag("timeout", "90s")
        .flag("tags", "a,b").load().describe();
    assertThat(text).contains("sample.timeout ").contains("= 1m30s ")
        .contains("= a,b ").contains("sample.inner.api-key ");
  }

  @Test
  void conversionErrorsOfSecretsDoNotEchoTheValue() {
    record WithSecretNumber(@Secret int pin) {
      static WithSecretNumber defaults() {
        return new WithSecretNumber(0);
      }
    }
    assertThatThrownBy(() -> ConfigLoader.of("x", WithSecretNumber.class)
        .flag("pin", "12three4").load())
        .isInstanceOf(ConfigException.class)
        .hasMessage("invalid configuration: x.pin: invalid integer (value not shown: secret)"
            + " (from --pin)");
  }
}
