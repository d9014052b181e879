package io.relaymesh.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Configuration of the control plane ({@code relaymesh server}); YAML section {@code server},
 * environment prefix {@code RELAYMESH_SERVER_}.
 *
 * @param listen address the HTTP API listens on, {@code host:port}
 * @param accessUrl URL under which users, relays and agents reach the control plane
 * @param dataDir directory for the embedded PostgreSQL and local state
 * @param postgresUrl external PostgreSQL URL; {@code null} means embedded PostgreSQL
 * @param builtinRelay whether the server also serves a built-in relay
 * @param sessionTtl lifetime of a login session token
 * @param ticketTtl lifetime of a signed connection ticket
 * @param heartbeatTimeout a relay replica missing heartbeats for this long is unhealthy
 * @param keyRotation age after which the ticket signing key is replaced by a new one (the old
 *     key stays published until every ticket it signed has expired)
 * @param appTokenTtl lifetime of an app token (the signed cookie value of a workspace app);
 *     revoking a session or lowering a share takes effect within it
 * @param appAllowedLowPorts ports below 1024 that may be opened as workspace apps (all others
 *     below 1024 are refused); empty by default
 * @param relayListen address the built-in relay's TLS listener binds, {@code host:port}
 * @param relayPublicUrl URL agents and clients use for the built-in relay; {@code null}: the
 *     access URL's host with the relay's port, else derived from {@code relayListen}
 * @param relayAppsHost wildcard host of the built-in relay's app URLs; {@code null}: no apps
 * @param relayTlsCert PEM certificate chain of the built-in relay; {@code null}: a self-signed
 *     certificate kept in {@code <data-dir>/builtin-relay/tls}
 * @param relayTlsKey PEM private key of {@code relayTlsCert}
 */
public record ControlConfig(
    @Doc("address the HTTP API listens on, host:port (port 0: any free port)") String listen,
    @Doc("URL under which users, relays and agents reach the control plane; default: the listen address")
        String accessUrl,
    @Doc("state directory; the embedded PostgreSQL keeps its data in its postgres subdirectory") Path dataDir,
    @Doc("external PostgreSQL, postgresql://user:password@host:port/db; unset: embedded PostgreSQL")
        @Secret String postgresUrl,
    @Doc("whether the server also serves a built-in relay") boolean builtinRelay,
    @Doc("lifetime of a login session token") Duration sessionTtl,
    @Doc("lifetime of a signed connection ticket, 10s to 10m") Duration ticketTtl,
    @Doc("a relay replica without a heartbeat for this long is unhealthy") Duration heartbeatTimeout,
    @Doc("age after which the ticket signing key is replaced (old keys stay published until their tickets expire)")
        Duration keyRotation,
    @Doc("lifetime of an app token (a workspace app's cookie), 10s to 10m; session revocation and share changes take effect within it")
        Duration appTokenTtl,
    @Doc("ports below 1024 that may be shared and opened as workspace apps, e.g. 80,443; others below 1024 are refused")
        List<String> appAllowedLowPorts,
    @Doc("host:port the built-in relay's TLS listener binds (port 0: any free port)")
        String relayListen,
    @Doc("URL agents and clients use to reach the built-in relay; default: `https://<access-url host>:<relay port>` (relay-listen's port), else derived from relay-listen")
        String relayPublicUrl,
    @Doc("wildcard host of the built-in relay's app and port-share subdomains; apps are disabled when unset")
        String relayAppsHost,
    @Doc("PEM certificate chain of the built-in relay; unset: a self-signed certificate kept in `<data-dir>/builtin-relay/tls`")
        Path relayTlsCert,
    @Doc("PEM private key of relay-tls-cert (set both or neither)") Path relayTlsKey)
    implements ConfigSection {

  public static final String DEFAULT_LISTEN = "127.0.0.1:3000";
  public static final Path DEFAULT_DATA_DIR =
      Path.of(System.getProperty("user.home"), ".local", "share", "relaymesh");
  public static final boolean DEFAULT_BUILTIN_RELAY = true;
  public static final Duration DEFAULT_SESSION_TTL = Duration.ofDays(7);
  public static final Duration DEFAULT_TICKET_TTL = Duration.ofMinutes(2);
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_KEY_ROTATION = Duration.ofDays(1);
  public static final Duration DEFAULT_APP_TOKEN_TTL = Duration.ofSeconds(60);
  public static final List<String> DEFAULT_APP_ALLOWED_LOW_PORTS = List.of();
  public static final String DEFAULT_RELAY_LISTEN = "0.0.0.0:8443";
  /** Ports below this need to be listed in {@code app-allowed-low-ports}. */
  public static final int LOW_PORT_LIMIT = 1024;

  /**
   * The settings before apps existed, with the app settings at their defaults; kept so that
   * callers of the positional constructor keep compiling.
   */
  public ControlConfig(String listen, String accessUrl, Path dataDir, String postgresUrl,
      boolean builtinRelay, Duration sessionTtl, Duration ticketTtl, Duration heartbeatTimeout,
      Duration keyRotation) {
    this(listen, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl, ticketTtl,
        heartbeatTimeout, keyRotation, DEFAULT_APP_TOKEN_TTL, DEFAULT_APP_ALLOWED_LOW_PORTS);
  }

  /** The settings before the built-in relay had its own, with those at their defaults. */
  public ControlConfig(String listen, String accessUrl, Path dataDir, String postgresUrl,
      boolean builtinRelay, Duration sessionTtl, Duration ticketTtl, Duration heartbeatTimeout,
      Duration keyRotation, Duration appTokenTtl, List<String> appAllowedLowPorts) {
    this(listen, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl, ticketTtl,
        heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, DEFAULT_RELAY_LISTEN,
        null, null, null, null);
  }

  public static ControlConfig defaults() {
    return new ControlConfig(DEFAULT_LISTEN, null, DEFAULT_DATA_DIR, null, DEFAULT_BUILTIN_RELAY,
        DEFAULT_SESSION_TTL, DEFAULT_TICKET_TTL, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_KEY_ROTATION,
        DEFAULT_APP_TOKEN_TTL, DEFAULT_APP_ALLOWED_LOW_PORTS);
  }

  /**
   * Whether {@code port} may be opened as a workspace app: 1024 and above always, below only
   * when listed in {@code app-allowed-low-ports}.
   */
  public boolean appPortAllowed(int port) {
    if (port >= LOW_PORT_LIMIT) {
      return true;
    }
    if (appAllowedLowPorts == null) {
      return false;
    }
    for (String p : appAllowedLowPorts) {
      if (p.strip().equals(Integer.toString(port))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (Checks.required(problems, path, "listen", listen)) {
      Checks.listenAddress(problems, path, "listen", listen);
    }
    Checks.url(problems, path, "access-url", accessUrl, "http", "https");
    Checks.required(problems, path, "data-dir", dataDir);
    if (postgresUrl != null && !postgresUrl.startsWith("postgresql://")
        && !postgresUrl.startsWith("postgres://") && !postgresUrl.startsWith("jdbc:postgresql://")) {
      problems.add(ConfigSection.key(path, "postgres-url")
          + ": must start with postgresql://, postgres:// or jdbc:postgresql://");
    }
    positive(path, "session-ttl", sessionTtl, problems);
    positive(path, "ticket-ttl", ticketTtl, problems);
    positive(path, "heartbeat-timeout", heartbeatTimeout, problems);
    positive(path, "key-rotation", keyRotation, problems);
    positive(path, "app-token-ttl", appTokenTtl, problems);
    if (appTokenTtl != null && !appTokenTtl.isNegative() && !appTokenTtl.isZero()
        && (appTokenTtl.compareTo(Duration.ofSeconds(10)) < 0
            || appTokenTtl.compareTo(Duration.ofMinutes(10)) > 0)) {
      problems.add(ConfigSection.key(path, "app-token-ttl") + ": must be between 10s and 10m, got "
          + io.relaymesh.config.internal.Values.formatDuration(appTokenTtl));
    }
    if (appAllowedLowPorts != null) {
      for (String p : appAllowedLowPorts) {
        String v = p == null ? "" : p.strip();
        int port = v.matches("[0-9]{1,5}") ? Integer.parseInt(v) : -1;
        if (port < 1 || port >= LOW_PORT_LIMIT) {
          problems.add(ConfigSection.key(path, "app-allowed-low-ports") + ": \"" + v
              + "\" is not a port between 1 and " + (LOW_PORT_LIMIT - 1)
              + " (ports from " + LOW_PORT_LIMIT + " up are always allowed)");
        }
      }
    }
    if (builtinRelay) {
      Checks.required(problems, path, "relay-listen", relayListen);
    }
    if (relayListen != null && !relayListen.isBlank()) {
      Checks.listenAddress(problems, path, "relay-listen", relayListen);
    }
    Checks.url(problems, path, "relay-public-url", relayPublicUrl, "http", "https");
    Checks.hostname(problems, path, "relay-apps-host", relayAppsHost);
    if (relayTlsCert != null && relayTlsKey == null) {
      problems.add(ConfigSection.key(path, "relay-tls-key") + ": required when "
          + ConfigSection.key(path, "relay-tls-cert") + " is set");
    } else if (relayTlsKey != null && relayTlsCert == null) {
      problems.add(ConfigSection.key(path, "relay-tls-cert") + ": required when "
          + ConfigSection.key(path, "relay-tls-key") + " is set");
    }
    Checks.readableFile(problems, path, "relay-tls-cert", relayTlsCert);
    Checks.readableFile(problems, path, "relay-tls-key", relayTlsKey);
    if (ticketTtl != null && !ticketTtl.isNegative() && !ticketTtl.isZero() && (ticketTtl.compareTo(Duration.ofSeconds(10)) < 0
        || ticketTtl.compareTo(Duration.ofMinutes(10)) > 0)) {
      problems.add(ConfigSection.key(path, "ticket-ttl") + ": must be between 10s and 10m, got "
          + io.relaymesh.config.internal.Values.formatDuration(ticketTtl));
    }
  }

  /** This config with {@code field} replaced; used by the CLI and tests. */
  public ControlConfig withListen(String value) {
    return new ControlConfig(value, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withDataDir(Path value) {
    return new ControlConfig(listen, accessUrl, value, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withPostgresUrl(String value) {
    return new ControlConfig(listen, accessUrl, dataDir, value, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withAccessUrl(String value) {
    return new ControlConfig(listen, value, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withAppTokenTtl(Duration value) {
    return new ControlConfig(listen, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, value, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withAppAllowedLowPorts(List<String> value) {
    return new ControlConfig(listen, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, value, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withBuiltinRelay(boolean value) {
    return new ControlConfig(listen, accessUrl, dataDir, postgresUrl, value, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, relayListen,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  public ControlConfig withRelayListen(String value) {
    return new ControlConfig(listen, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation, appTokenTtl, appAllowedLowPorts, value,
        relayPublicUrl, relayAppsHost, relayTlsCert, relayTlsKey);
  }

  private static void positive(String path, String name, Duration d, List<String> problems) {
    if (Checks.required(problems, path, name, d)) {
      Checks.positive(problems, path, name, d);
    }
  }

  @Override
  public String toString() {
    return "ControlConfig[listen=" + listen + ", accessUrl=" + accessUrl + ", dataDir=" + dataDir
        + ", postgresUrl=" + (postgresUrl == null ? null : Secret.MASK) + ", builtinRelay="
        + builtinRelay + ", sessionTtl=" + sessionTtl + ", ticketTtl=" + ticketTtl
        + ", heartbeatTimeout=" + heartbeatTimeout + ", keyRotation=" + keyRotation
        + ", appTokenTtl=" + appTokenTtl + ", appAllowedLowPorts=" + appAllowedLowPorts
        + ", relayListen=" + relayListen + ", relayPublicUrl=" + relayPublicUrl
        + ", relayAppsHost=" + relayAppsHost + ", relayTlsCert=" + relayTlsCert
        + ", relayTlsKey=" + relayTlsKey + "]";
  }
}
