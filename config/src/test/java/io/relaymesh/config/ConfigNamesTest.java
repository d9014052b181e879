package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConfigNamesTest {

  @Test
  void oneNamingRuleForYamlEnvironmentAndFlags() {
    assertThat(ConfigNames.kebab("appsHost")).isEqualTo("apps-host");
    assertThat(ConfigNames.kebab("maxFrameSize")).isEqualTo("max-frame-size");
    assertThat(ConfigNames.kebab("controlURL")).isEqualTo("control-url");
    assertThat(ConfigNames.kebab("region")).isEqualTo("region");
    assertThat(ConfigNames.env("relay.apps-host")).isEqualTo("RELAYMESH_RELAY_APPS_HOST");
    assertThat(ConfigNames.flag("relay.apps-host")).isEqualTo("--apps-host");
    assertThat(ConfigNames.env("relay.tls.cert")).isEqualTo("RELAYMESH_RELAY_TLS_CERT");
    assertThat(ConfigNames.flag("relay.tls.cert")).isEqualTo("--tls-cert");
  }
}
