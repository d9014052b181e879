package io.relaymesh.config;

import java.time.Duration;
import java.util.List;

/**
 * Configuration of a regional relay ({@code relaymesh relay}); YAML section {@code relay},
 * environment prefix {@code RELAYMESH_RELAY_}, flags as in {@code docs/config.md}.
 *
 * @param controlUrl URL of the control plane the relay registers with
 * @param token relay token of the region (secret)
 * @param region region this relay serves
 * @param replicaId id of this replica within the region; {@code null}: generated at start
 * @param listen address the relay listens on, {@code host:port}
 * @param publicUrl URL clients and agents use; {@code null}: derived from {@code listen}
 * @param appsHost wildcard host of app and port-share subdomains; {@code null}: apps disabled
 * @param tls certificate; none: self-signed
 * @param drainTimeout how long a drain waits for tunnels and streams to finish
 * @param tunnel tunnel session limits
 * @param agentAuthTtl how long a positive agent-token check is cached (a revoked token keeps
 *     working at most this long)
 * @param agentAuthNegativeTtl how long a refused agent token is remembered
 * @param handshakeRate tunnel handshakes accepted per second
 * @param peerAddress where peer relays dial this replica; {@code null}: its public URL
 * @param adminListen {@code host:port} of the plain-HTTP admin listener ({@code /metrics},
 *     {@code /healthz}, {@code /readyz}, {@code /debug/consistency}); {@code null} or empty: none,
 *     and the public TLS listener serves {@code /metrics} and {@code /debug/consistency} itself
 * @param listener limits of the public listener against slow or silent clients (slowloris,
 *     stuck TLS handshakes)
 */
public record RelayConfig(
    @Doc("URL of the control plane the relay registers with (http or https)") String controlUrl,
    @Doc("relay token of the region, from `relaymesh relays create REGION`") @Secret String token,
    @Doc("region this relay serves, 1 to 32 of a-z, 0-9, -") String region,
    @Doc("id of this replica within its region; generated at start when unset") String replicaId,
    @Doc("address to listen on, host:port") String listen,
    @Doc("URL clients and agents use to reach this relay; derived from listen when unset")
    String publicUrl,
    @Doc("wildcard host of app and port-share subdomains; apps are disabled when unset")
    String appsHost,
    TlsConfig tls,
    @Doc("how long a drain (SIGTERM) waits for tunnels and streams to finish")
    Duration drainTimeout,
    TunnelConfig tunnel,
    @Doc("how long an accepted agent token is cached; a revoked token stops working within it")
    Duration agentAuthTtl,
    @Doc("how long a refused agent token is remembered")
    Duration agentAuthNegativeTtl,
    @Doc("new tunnel handshakes (agent, client, peer) accepted per second, bursts of one second's"
        + " worth; more are refused with 503 and Retry-After before any token check")
    int handshakeRate,
    @Doc("host:port (or https URL) other relays use to reach this replica when they forward a "
        + "stream to it, e.g. the pod IP behind a shared load balancer; unset: the public URL")
    String peerAddress,
    @Doc("host:port of a plain-HTTP admin listener for a private network (e.g. 0.0.0.0:9090 in a "
        + "pod): /metrics, /healthz, /readyz, /debug/consistency; when set, the public listener no "
        + "longer serves /metrics and /debug/consistency; empty: they stay on the public listener")
    String adminListen,
    ListenerConfig listener)
    implements ConfigSection {

  public static final String DEFAULT_LISTEN = "0.0.0.0:8443";
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_AGENT_AUTH_TTL = Duration.ofSeconds(30);
  public static final Duration DEFAULT_AGENT_AUTH_NEGATIVE_TTL = Duration.ofSeconds(5);
  public static final int DEFAULT_HANDSHAKE_RATE = 500;

  /** The settings with the default listener limits. */
  public RelayConfig(String controlUrl, String token, String region, String replicaId,
      String listen, String publicUrl, String appsHost, TlsConfig tls, Duration drainTimeout,
      TunnelConfig tunnel, Duration agentAuthTtl, Duration agentAuthNegativeTtl,
      int handshakeRate, String peerAddress, String adminListen) {
    this(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls, drainTimeout,
        tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress, adminListen,
        ListenerConfig.defaults());
  }

  /** The settings without an admin listener. */
  public RelayConfig(String controlUrl, String token, String region, String replicaId,
      String listen, String publicUrl, String appsHost, TlsConfig tls, Duration drainTimeout,
      TunnelConfig tunnel, Duration agentAuthTtl, Duration agentAuthNegativeTtl,
      int handshakeRate, String peerAddress) {
    this(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls, drainTimeout,
        tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress, null);
  }

  /** The settings without a peer address (peers dial the public URL). */
  public RelayConfig(String controlUrl, String token, String region, String replicaId,
      String listen, String publicUrl, String appsHost, TlsConfig tls, Duration drainTimeout,
      TunnelConfig tunnel, Duration agentAuthTtl, Duration agentAuthNegativeTtl,
      int handshakeRate) {
    this(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls, drainTimeout,
        tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, null);
  }

  /** The settings with the default handshake rate. */
  public RelayConfig(String controlUrl, String token, String region, String replicaId,
      String listen, String publicUrl, String appsHost, TlsConfig tls, Duration drainTimeout,
      TunnelConfig tunnel, Duration agentAuthTtl, Duration agentAuthNegativeTtl) {
    this(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls, drainTimeout,
        tunnel, agentAuthTtl, agentAuthNegativeTtl, DEFAULT_HANDSHAKE_RATE);
  }

  /** The settings without the agent-auth cache TTLs (defaults for those). */
  public RelayConfig(String controlUrl, String token, String region, String replicaId,
      String listen, String publicUrl, String appsHost, TlsConfig tls, Duration drainTimeout,
      TunnelConfig tunnel) {
    this(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls, drainTimeout,
        tunnel, DEFAULT_AGENT_AUTH_TTL, DEFAULT_AGENT_AUTH_NEGATIVE_TTL);
  }

  public static RelayConfig defaults() {
    return new RelayConfig(null, null, null, null, DEFAULT_LISTEN, null, null,
        TlsConfig.defaults(), DEFAULT_DRAIN_TIMEOUT, TunnelConfig.defaults());
  }

  public RelayConfig withControl(String url, String relayToken, String regionName) {
    return new RelayConfig(url, relayToken, regionName, replicaId, listen, publicUrl, appsHost,
        tls, drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withReplicaId(String value) {
    return new RelayConfig(controlUrl, token, region, value, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withListen(String value) {
    return new RelayConfig(controlUrl, token, region, replicaId, value, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withPublicUrl(String value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, value, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withAppsHost(String value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, value, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withTls(TlsConfig value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost,
        value, drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate,
        peerAddress, adminListen, listener);
  }

  public RelayConfig withTunnel(TunnelConfig value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, value, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withAgentAuthTtl(Duration positive, Duration negative) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, positive, negative, handshakeRate, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withHandshakeRate(int value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, value, peerAddress,
        adminListen, listener);
  }

  public RelayConfig withPeerAddress(String value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, value,
        adminListen, listener);
  }

  /** With the admin listener on {@code value} ({@code host:port}; null or empty: none). */
  public RelayConfig withAdminListen(String value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        value, listener);
  }

  /** With the listener limits {@code value}. */
  public RelayConfig withListener(ListenerConfig value) {
    return new RelayConfig(controlUrl, token, region, replicaId, listen, publicUrl, appsHost, tls,
        drainTimeout, tunnel, agentAuthTtl, agentAuthNegativeTtl, handshakeRate, peerAddress,
        adminListen, value);
  }

  /**
   * Whether {@code admin-listen} is set: the relay then serves {@code /metrics} and
   * {@code /debug/consistency} only there.
   */
  public boolean adminEnabled() {
    return adminListen != null && !adminListen.isBlank();
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (Checks.required(problems, path, "control-url", controlUrl)) {
      Checks.url(problems, path, "control-url", controlUrl, "http", "https");
    }
    Checks.required(problems, path, "token", token);
    if (Checks.required(problems, path, "region", region)) {
      Checks.region(problems, path, "region", region);
    }
    if (replicaId != null && !replicaId.matches("[a-z0-9-]{1,63}")) {
      problems.add(ConfigSection.key(path, "replica-id") + ": invalid replica id \"" + replicaId
          + "\" (expected 1 to 63 of a-z, 0-9, -)");
    }
    if (Checks.required(problems, path, "listen", listen)) {
      Checks.listenAddress(problems, path, "listen", listen);
    }
    Checks.url(problems, path, "public-url", publicUrl, "http", "https");
    Checks.hostname(problems, path, "apps-host", appsHost);
    if (peerAddress != null && !peerAddress.isBlank()) {
      if (peerAddress.contains("://")) {
        Checks.url(problems, path, "peer-address", peerAddress, "https");
      } else {
        Checks.listenAddress(problems, path, "peer-address", peerAddressForm(peerAddress));
      }
    }
    if (adminEnabled()) {
      Checks.listenAddress(problems, path, "admin-listen", adminListen.strip());
      if (listen != null && adminListen.strip().equals(listen.strip())
          && !listen.strip().endsWith(":0")) {
        problems.add(ConfigSection.key(path, "admin-listen") + ": must differ from listen ("
            + listen.strip() + ")");
      }
    }
    if (Checks.required(problems, path, "drain-timeout", drainTimeout)) {
      Checks.positive(problems, path, "drain-timeout", drainTimeout);
    }
    if (Checks.required(problems, path, "agent-auth-ttl", agentAuthTtl)) {
      Checks.positive(problems, path, "agent-auth-ttl", agentAuthTtl);
    }
    if (Checks.required(problems, path, "agent-auth-negative-ttl", agentAuthNegativeTtl)) {
      Checks.positive(problems, path, "agent-auth-negative-ttl", agentAuthNegativeTtl);
    }
    Checks.range(problems, path, "handshake-rate", handshakeRate, 1, 1_000_000);
    Checks.required(problems, path, "tls", tls);
    Checks.required(problems, path, "tunnel", tunnel);
    Checks.required(problems, path, "listener", listener);
    // tls, tunnel and listener validate themselves: ConfigLoader visits nested sections
  }

  /**
   * The peer address as registered: a bare IPv6 {@code host:port} (as Kubernetes renders
   * {@code $(POD_IP):8443} on an IPv6 cluster) gets its host bracketed, {@code [fd00::5]:8443};
   * other forms are returned as they are, {@code null} stays {@code null}.
   */
  public static String peerAddressForm(String address) {
    if (address == null || address.contains("://") || address.startsWith("[")) {
      return address;
    }
    int colon = address.lastIndexOf(':');
    if (colon > 0 && address.indexOf(':') != colon) {
      return "[" + address.substring(0, colon) + "]" + address.substring(colon);
    }
    return address;
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
