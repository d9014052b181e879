package io.relaymesh.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Configuration of a workspace agent ({@code relaymesh agent}); YAML section {@code agent},
 * environment prefix {@code RELAYMESH_AGENT_}.
 *
 * @param url URL of the control plane
 * @param token agent token (secret), printed by {@code relaymesh workspaces create}
 * @param region pinned region; {@code null}: the nearest healthy relays by latency
 * @param sshTarget where SSH streams go: {@code builtin} or a {@code host:port}
 * @param relayCount number of relays to keep a tunnel to, for high availability
 * @param tunnel tunnel session limits
 * @param relayUrl explicit relay URL; {@code null}: the relay the control plane names
 * @param caCert PEM file of the CA (or self-signed certificate) the relays' TLS certificates chain
 *     to; {@code null}: the system trust store (unless {@code relayFingerprint} is set)
 * @param relayFingerprint pinned SHA-256 fingerprint of the relay's TLS certificate; wins over
 *     {@code caCert}
 * @param stateDir where the agent keeps its state (the SSH host key)
 * @param reconnectMin first reconnect delay (the cap of the first jittered wait)
 * @param reconnectMax cap of the jittered exponential reconnect backoff
 * @param dialTimeout time to connect a tunnel (TCP, TLS, WebSocket upgrade, SETTINGS)
 * @param targetConnectTimeout time to connect a local target of a stream
 * @param metricsAddress {@code host:port} of the agent's plain-HTTP {@code /metrics},
 *     {@code /healthz} and {@code /readyz}; {@code null} or empty: not served
 */
public record AgentConfig(
    @Doc("URL of the control plane (http or https)") String url,
    @Doc("agent token, printed once by `relaymesh workspaces create`") @Secret String token,
    @Doc("pin this region instead of choosing the nearest relays by latency") String region,
    @Doc("where SSH streams go: builtin (the built-in SSH server) or host:port")
    String sshTarget,
    @Doc("number of relays to keep a tunnel to, for high availability") int relayCount,
    TunnelConfig tunnel,
    @Doc("connect to this relay (https:// or wss://) instead of the one the control plane names")
    String relayUrl,
    @Doc("PEM CA or self-signed certificate to trust for relay TLS; unset: the system trust store")
    Path caCert,
    @Doc("pinned SHA-256 fingerprint (hex) of the relay's TLS certificate; wins over ca-cert")
    String relayFingerprint,
    @Doc("directory of the agent's state (SSH host key)") Path stateDir,
    @Doc("first reconnect delay; doubles per failed attempt, with full jitter") Duration reconnectMin,
    @Doc("cap of the reconnect delay") Duration reconnectMax,
    @Doc("time to establish a tunnel (TCP, proxy, TLS, WebSocket upgrade, SETTINGS)") Duration dialTimeout,
    @Doc("time to connect a stream's local target (127.0.0.1:port)") Duration targetConnectTimeout,
    @Doc("host:port to serve plain-HTTP /metrics, /healthz and /readyz on (e.g. 127.0.0.1:9464); "
        + "empty: not served") String metricsAddress)
    implements ConfigSection {

  public static final String DEFAULT_SSH_TARGET = "builtin";
  public static final int DEFAULT_RELAY_COUNT = 2;
  public static final int MAX_RELAY_COUNT = 8;
  public static final Path DEFAULT_STATE_DIR =
      Path.of(System.getProperty("user.home"), ".local", "share", "relaymesh", "agent");
  public static final Duration DEFAULT_RECONNECT_MIN = Duration.ofMillis(250);
  public static final Duration DEFAULT_RECONNECT_MAX = Duration.ofSeconds(30);
  public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(20);
  public static final Duration DEFAULT_TARGET_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  public static AgentConfig defaults() {
    return new AgentConfig(null, null, null, DEFAULT_SSH_TARGET, DEFAULT_RELAY_COUNT, TunnelConfig.defaults(),
        null, null, null, DEFAULT_STATE_DIR, DEFAULT_RECONNECT_MIN, DEFAULT_RECONNECT_MAX, DEFAULT_DIAL_TIMEOUT,
        DEFAULT_TARGET_CONNECT_TIMEOUT, null);
  }

  /** Whether {@code metrics-address} is set (the agent then serves /metrics, /healthz, /readyz). */
  public boolean metricsEnabled() {
    return metricsAddress != null && !metricsAddress.isBlank();
  }

  public AgentConfig withMetricsAddress(String v) {
    return new AgentConfig(url, token, region, sshTarget, relayCount, tunnel, relayUrl, caCert, relayFingerprint,
        stateDir, reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, v);
  }

  /** Whether SSH streams go to the built-in server. */
  public boolean builtinSsh() {
    return DEFAULT_SSH_TARGET.equals(sshTarget);
  }

  public AgentConfig withRelayUrl(String v) {
    return new AgentConfig(url, token, region, sshTarget, relayCount, tunnel, v, caCert, relayFingerprint, stateDir,
        reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  public AgentConfig withTrust(Path caCertFile, String fingerprint) {
    return new AgentConfig(url, token, region, sshTarget, relayCount, tunnel, relayUrl, caCertFile, fingerprint, stateDir,
        reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  public AgentConfig withReconnect(Duration min, Duration max) {
    return new AgentConfig(url, token, region, sshTarget, relayCount, tunnel, relayUrl, caCert, relayFingerprint, stateDir,
        min, max, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  public AgentConfig withSshTarget(String v) {
    return new AgentConfig(url, token, region, v, relayCount, tunnel, relayUrl, caCert, relayFingerprint, stateDir,
        reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  public AgentConfig withStateDir(Path v) {
    return new AgentConfig(url, token, region, sshTarget, relayCount, tunnel, relayUrl, caCert, relayFingerprint, v,
        reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  public AgentConfig withCredentials(String controlUrl, String agentToken) {
    return new AgentConfig(controlUrl, agentToken, region, sshTarget, relayCount, tunnel, relayUrl, caCert, relayFingerprint,
        stateDir, reconnectMin, reconnectMax, dialTimeout, targetConnectTimeout, metricsAddress);
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (Checks.required(problems, path, "url", url)) {
      Checks.url(problems, path, "url", url, "http", "https");
    }
    Checks.required(problems, path, "token", token);
    Checks.region(problems, path, "region", region);
    if (Checks.required(problems, path, "ssh-target", sshTarget)
        && !sshTarget.equals(DEFAULT_SSH_TARGET)) {
      Checks.listenAddress(problems, path, "ssh-target", sshTarget);
    }
    Checks.range(problems, path, "relay-count", relayCount, 1, MAX_RELAY_COUNT);
    Checks.url(problems, path, "relay-url", relayUrl, "https", "wss");
    Checks.readableFile(problems, path, "ca-cert", caCert);
    if (relayFingerprint != null) {
      String hex = relayFingerprint.trim().toLowerCase(Locale.ROOT).replaceFirst("^sha256:", "").replace(":", "");
      if (!hex.matches("[0-9a-f]{64}")) {
        problems.add(ConfigSection.key(path, "relay-fingerprint")
            + ": expected a SHA-256 fingerprint, 64 hex digits (colons allowed)");
      }
    }
    Checks.required(problems, path, "state-dir", stateDir);
    if (Checks.required(problems, path, "reconnect-min", reconnectMin)
        && Checks.required(problems, path, "reconnect-max", reconnectMax)) {
      Checks.positive(problems, path, "reconnect-min", reconnectMin);
      if (reconnectMax.compareTo(reconnectMin) < 0) {
        problems.add(ConfigSection.key(path, "reconnect-max") + ": must not be below reconnect-min");
      }
    }
    if (Checks.required(problems, path, "dial-timeout", dialTimeout)) {
      Checks.positive(problems, path, "dial-timeout", dialTimeout);
    }
    if (Checks.required(problems, path, "target-connect-timeout", targetConnectTimeout)) {
      Checks.positive(problems, path, "target-connect-timeout", targetConnectTimeout);
    }
    Checks.required(problems, path, "tunnel", tunnel);
    if (metricsEnabled()) {
      Checks.listenAddress(problems, path, "metrics-address", metricsAddress.strip());
    }
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
