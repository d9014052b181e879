package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Validation messages of the product's sections, exact strings. */
class SectionValidationTest {

  @TempDir Path dir;

  private static List<String> relayProblems(Map<String, ?> flags) {
    try {
      ConfigLoader.of("relay", RelayConfig.class).flags(flags).load();
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  private static Map<String, Object> validRelay() {
    return new java.util.HashMap<>(Map.of("control-url", "https://cp.example.com",
        "token", "rt_secret", "region", "eu-west"));
  }

  @Test
  void minimalRelayIsValidAndUsesDefaults() {
    RelayConfig relay = ConfigLoader.of("relay", RelayConfig.class).flags(validRelay()).load()
        .config();
    assertThat(relay.listen()).isEqualTo(RelayConfig.DEFAULT_LISTEN);
    assertThat(relay.drainTimeout()).isEqualTo(RelayConfig.DEFAULT_DRAIN_TIMEOUT);
    assertThat(relay.tls().enabled()).isFalse();
    assertThat(relay.tunnel()).isEqualTo(TunnelConfig.defaults());
  }

  @Test
  void requiredRelayKeysNameTheirFlagAndVariable() {
    assertThat(relayProblems(Map.of())).containsExactly(
        "relay.control-url: required (flag --control-url, env RELAYMESH_RELAY_CONTROL_URL)",
        "relay.token: required (flag --token, env RELAYMESH_RELAY_TOKEN)",
        "relay.region: required (flag --region, env RELAYMESH_RELAY_REGION)");
  }

  @Test
  void blankTokenCountsAsMissing() {
    Map<String, Object> flags = validRelay();
    flags.put("token", "  ");
    assertThat(relayProblems(flags))
        .containsExactly("relay.token: required (flag --token, env RELAYMESH_RELAY_TOKEN)");
  }

  @Test
  void everyRelayProblemAtOnce() {
    Map<String, Object> flags = Map.of(
        "control-url", "ftp://cp.example.com",
        "token", "t",
        "region", "EU West",
        "replica-id", "Replica_1",
        "listen", "0.0.0.0:70000",
        "public-url", "https://",
        "apps-host", "Apps..example.com",
        "drain-timeout", "0s",
        "tunnel-max-frame-size", "1");
    assertThat(relayProblems(flags)).containsExactly(
        "relay.control-url: invalid URL \"ftp://cp.example.com\": scheme must be http or https",
        "relay.region: invalid region \"EU West\" (expected 1 to 32 of a-z, 0-9, -)",
        "relay.replica-id: invalid replica id \"Replica_1\" (expected 1 to 63 of a-z, 0-9, -)",
        "relay.listen: port out of range 0..65535: 70000",
        "relay.public-url: invalid URL \"https://\": Expected authority",
        "relay.apps-host: invalid host name \"Apps..example.com\"",
        "relay.drain-timeout: must be positive, got 0s",
        "relay.tunnel.max-frame-size: must be between 1024 and 16777216 bytes, got 1",
        "relay.tunnel.max-open-size: must be between 3 and max-frame-size (1) bytes, got 16384");
  }

  @Test
  void listenAddressForms() {
    for (String ok : List.of("0.0.0.0:0", "localhost:8443", "[::]:443", "[::1]:65535")) {
      Map<String, Object> flags = validRelay();
      flags.put("listen", ok);
      assertThat(relayProblems(flags)).as(ok).isEmpty();
    }
    for (String bad : List.of("8443", ":8443", "host:", "host:port", "::1:443")) {
      Map<String, Object> flags = validRelay();
      flags.put("listen", bad);
      assertThat(relayProblems(flags)).as(bad)
          .containsExactly("relay.listen: expected host:port, got \"" + bad + "\"");
    }
  }

  @Test
  void relayPeerAddressIsAHostPortOrAnHttpsUrlAndABareIpv6HostIsBracketed() {
    Map<String, Object> flags = validRelay();
    for (String ok : new String[] {"10.1.2.3:8443", "[fd00::5]:8443", "fd00::5:8443",
        "https://relay-1.internal:8443"}) {
      flags.put("peer-address", ok);
      assertThat(relayProblems(flags)).as(ok).isEmpty();
    }
    flags.put("peer-address", "no-port");
    assertThat(relayProblems(flags))
        .containsExactly("relay.peer-address: expected host:port, got \"no-port\"");
    flags.put("peer-address", "http://plain:80");
    assertThat(relayProblems(flags)).singleElement().asString().startsWith("relay.peer-address");
    // as Kubernetes renders $(POD_IP):8443 on an IPv6 cluster
    assertThat(RelayConfig.peerAddressForm("fd00::5:8443")).isEqualTo("[fd00::5]:8443");
    assertThat(RelayConfig.peerAddressForm("[fd00::5]:8443")).isEqualTo("[fd00::5]:8443");
    assertThat(RelayConfig.peerAddressForm("10.1.2.3:8443")).isEqualTo("10.1.2.3:8443");
    assertThat(RelayConfig.peerAddressForm(null)).isNull();
  }

  @Test
  void relayAdminListenIsOffByDefaultAndAHostPortDistinctFromListen() {
    RelayConfig off = ConfigLoader.of("relay", RelayConfig.class).flags(validRelay()).load()
        .config();
    assertThat(off.adminListen()).isNull();
    assertThat(off.adminEnabled()).isFalse();
    assertThat(RelayConfig.defaults().adminEnabled()).isFalse();

    Map<String, Object> flags = validRelay();
    flags.put("admin-listen", "9090");
    assertThat(relayProblems(flags))
        .containsExactly("relay.admin-listen: expected host:port, got \"9090\"");
    flags.put("admin-listen", "0.0.0.0:90000");
    assertThat(relayProblems(flags))
        .containsExactly("relay.admin-listen: port out of range 0..65535: 90000");
    flags.put("admin-listen", RelayConfig.DEFAULT_LISTEN);
    assertThat(relayProblems(flags)).containsExactly(
        "relay.admin-listen: must differ from listen (" + RelayConfig.DEFAULT_LISTEN + ")");
    flags.put("admin-listen", "");
    assertThat(relayProblems(flags)).isEmpty();

    flags.remove("admin-listen");
    RelayConfig on = ConfigLoader.of("relay", RelayConfig.class).flags(flags)
        .env(Map.of("RELAYMESH_RELAY_ADMIN_LISTEN", "0.0.0.0:9090")).load().config();
    assertThat(on.adminEnabled()).isTrue();
    assertThat(on.adminListen()).isEqualTo("0.0.0.0:9090");
    // the with-ers keep it
    assertThat(on.withListen("127.0.0.1:0").withPeerAddress("10.0.0.7:8443").adminListen())
        .isEqualTo("0.0.0.0:9090");
    assertThat(RelayConfig.defaults().withAdminListen("127.0.0.1:0").withHandshakeRate(7)
        .adminListen()).isEqualTo("127.0.0.1:0");
  }

  @Test
  void tlsFilesMustExistAndComeInPairs() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\n");
    Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n");
    Map<String, Object> flags = validRelay();
    flags.put("tls-cert", cert.toString());
    flags.put("tls-key", key.toString());
    RelayConfig ok = ConfigLoader.of("relay", RelayConfig.class).flags(flags).load().config();
    assertThat(ok.tls()).isEqualTo(new TlsConfig(cert, key));

    Path missing = dir.resolve("missing.pem");
    flags.put("tls-cert", missing.toString());
    flags.put("tls-key", dir.toString());
    assertThat(relayProblems(flags)).containsExactly(
        "relay.tls.cert: file not found: " + missing,
        "relay.tls.key: not a regular file: " + dir);

    flags.remove("tls-key");
    flags.put("tls-cert", cert.toString());
    assertThat(relayProblems(flags))
        .containsExactly("relay.tls.key: required when relay.tls.cert is set");
  }

  @Test
  void agentValidation() {
    assertThat(agentProblems(Map.of())).containsExactly(
        "agent.url: required (flag --url, env RELAYMESH_AGENT_URL)",
        "agent.token: required (flag --token, env RELAYMESH_AGENT_TOKEN)");
    assertThat(agentProblems(Map.of("url", "wss://relay", "token", "t", "ssh-target", "nowhere",
        "relay-count", "0", "region", "x_y"))).containsExactly(
        "agent.url: invalid URL \"wss://relay\": scheme must be http or https",
        "agent.region: invalid region \"x_y\" (expected 1 to 32 of a-z, 0-9, -)",
        "agent.ssh-target: expected host:port, got \"nowhere\"",
        "agent.relay-count: must be between 1 and 8, got 0");
    AgentConfig ok = ConfigLoader.of("agent", AgentConfig.class)
        .env(Map.of("RELAYMESH_AGENT_TOKEN", "at", "RELAYMESH_AGENT_URL", "http://cp:3000"))
        .flag("ssh-target", "127.0.0.1:22").load().config();
    assertThat(ok.relayCount()).isEqualTo(AgentConfig.DEFAULT_RELAY_COUNT);
    assertThat(ok.sshTarget()).isEqualTo("127.0.0.1:22");
    assertThat(ok.metricsEnabled()).isFalse();
  }

  @Test
  void agentMetricsAddressIsHostPortOrEmpty() {
    Map<String, Object> flags = new java.util.HashMap<>(Map.of("url", "http://cp:3000", "token", "t"));
    flags.put("metrics-address", "9464");
    assertThat(agentProblems(flags))
        .containsExactly("agent.metrics-address: expected host:port, got \"9464\"");
    flags.put("metrics-address", "127.0.0.1:70000");
    assertThat(agentProblems(flags))
        .containsExactly("agent.metrics-address: port out of range 0..65535: 70000");
    flags.put("metrics-address", "");
    assertThat(agentProblems(flags)).isEmpty();
    flags.remove("metrics-address");
    AgentConfig on = ConfigLoader.of("agent", AgentConfig.class).flags(flags)
        .env(Map.of("RELAYMESH_AGENT_METRICS_ADDRESS", "0.0.0.0:9464")).load().config();
    assertThat(on.metricsEnabled()).as(on.toString()).isTrue();
    assertThat(on.metricsAddress()).isEqualTo("0.0.0.0:9464");
  }

  private static List<String> agentProblems(Map<String, ?> flags) {
    try {
      ConfigLoader.of("agent", AgentConfig.class).flags(flags).load();
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  @Test
  void cliDefaultsAndOutputFormat() {
    CliConfig cli = ConfigLoader.of("cli", CliConfig.class).load().config();
    assertThat(cli).isEqualTo(CliConfig.defaults());
    assertThat(ConfigLoader.of("cli", CliConfig.class).flag("output", "json").load().config()
        .output()).isEqualTo(CliConfig.OutputFormat.JSON);
  }

  @Test
  void validateWorksOnConfigsBuiltInCode() {
    TunnelConfig d = TunnelConfig.defaults();
    TunnelConfig tunnel = new TunnelConfig(10, d.initialStreamWindow(), d.maxStreamWindow(),
        d.maxConcurrentStreams(), d.maxOpenRate(), d.maxResetRate(), d.maxPingRate(),
        d.maxBufferedPerStream(), d.maxBufferedPerSession(), d.streamWriteQueueSize(),
        d.maxOpenSize(), d.openTimeout(), d.idleTimeout(), d.keepaliveInterval(),
        d.deadPeerTimeout());
    RelayConfig relay = new RelayConfig("https://cp", "t", "local", null, "127.0.0.1:0", null,
        null, TlsConfig.defaults(), Duration.ofSeconds(-1), tunnel);
    assertThat(ConfigLoader.validate("relay", relay)).containsExactly(
        "relay.drain-timeout: must be positive, got -1s",
        "relay.tunnel.max-frame-size: must be between 1024 and 16777216 bytes, got 10",
        "relay.tunnel.max-open-size: must be between 3 and max-frame-size (10) bytes, got 16384");
  }

  @Test
  void urlMessagesMaskUserInfo() {
    List<String> problems = new java.util.ArrayList<>();
    Checks.url(problems, "server", "postgres-url", "ftp://app:hunter2@db:5432/x", "postgresql");
    assertThat(problems).containsExactly(
        "server.postgres-url: invalid URL \"ftp://******@db:5432/x\": scheme must be postgresql");
  }
}
