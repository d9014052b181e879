package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in relay's settings in section {@code server}: defaults, sources, validation. */
class ControlConfigTest {

  @TempDir Path dir;

  private static List<String> problems(Map<String, ?> flags) {
    try {
      ConfigLoader.of("server", ControlConfig.class).flags(flags).load();
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  @Test
  void builtinRelayIsOnByDefaultOnPort8443WithASelfSignedCertificate() {
    ControlConfig c = ConfigLoader.of("server", ControlConfig.class).load().config();
    assertThat(c.builtinRelay()).isTrue();
    assertThat(c.relayListen()).isEqualTo("0.0.0.0:8443");
    assertThat(c.relayPublicUrl()).isNull();
    assertThat(c.relayAppsHost()).isNull();
    assertThat(c.relayTlsCert()).isNull();
    assertThat(c.relayTlsKey()).isNull();
    assertThat(ControlConfig.defaults()).isEqualTo(c);
  }

  @Test
  void relaySettingsFromEnvironmentAndFlags() throws Exception {
    Path cert = Files.writeString(dir.resolve("c.pem"), "x");
    Path key = Files.writeString(dir.resolve("k.pem"), "x");
    ControlConfig c = ConfigLoader.of("server", ControlConfig.class)
        .env(Map.of("RELAYMESH_SERVER_RELAY_LISTEN", "0.0.0.0:9443",
            "RELAYMESH_SERVER_RELAY_APPS_HOST", "apps.example.com",
            "RELAYMESH_SERVER_BUILTIN_RELAY", "false"))
        .flag("relay-listen", "127.0.0.1:0")
        .flag("relay-public-url", "https://relay.example.com")
        .flag("relay-tls-cert", cert)
        .flag("relay-tls-key", key)
        .load().config();
    assertThat(c.builtinRelay()).isFalse();
    assertThat(c.relayListen()).isEqualTo("127.0.0.1:0");
    assertThat(c.relayPublicUrl()).isEqualTo("https://relay.example.com");
    assertThat(c.relayAppsHost()).isEqualTo("apps.example.com");
    assertThat(c.relayTlsCert()).isEqualTo(cert);
    assertThat(c.relayTlsKey()).isEqualTo(key);
    // the old constructors keep the relay settings at their defaults
    ControlConfig old = new ControlConfig(c.listen(), null, c.dataDir(), null, true,
        c.sessionTtl(), c.ticketTtl(), c.heartbeatTimeout(), c.keyRotation());
    assertThat(old.relayListen()).isEqualTo(ControlConfig.DEFAULT_RELAY_LISTEN);
    assertThat(old.withRelayListen("127.0.0.1:1").withBuiltinRelay(false).relayListen())
        .isEqualTo("127.0.0.1:1");
  }

  @Test
  void invalidRelaySettingsAreReportedTogether() {
    assertThat(problems(Map.of("relay-listen", "8443", "relay-public-url", "ftp://x",
        "relay-apps-host", "not a host", "relay-tls-key", dir.resolve("missing.pem"))))
        .containsExactly(
            "server.relay-listen: expected host:port, got \"8443\"",
            "server.relay-public-url: invalid URL \"ftp://x\": scheme must be http or https",
            "server.relay-apps-host: invalid host name \"not a host\"",
            "server.relay-tls-cert: required when server.relay-tls-key is set",
            "server.relay-tls-key: file not found: " + dir.resolve("missing.pem"));
  }

  @Test
  void relayListenIsRequiredOnlyWithTheBuiltinRelay() {
    assertThat(problems(Map.of("relay-listen", " ")))
        .containsExactly("server.relay-listen: required (flag --relay-listen, env "
            + "RELAYMESH_SERVER_RELAY_LISTEN)");
    assertThat(problems(Map.of("relay-listen", "", "builtin-relay", false))).isEmpty();
  }

  @Test
  void toStringNamesTheRelaySettings() {
    assertThat(ControlConfig.defaults().toString()).contains("relayListen=0.0.0.0:8443",
        "relayPublicUrl=null");
  }
}
