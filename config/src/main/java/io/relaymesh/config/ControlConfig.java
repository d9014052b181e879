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
 */
public record ControlConfig(
    String listen,
    String accessUrl,
    Path dataDir,
    @Secret String postgresUrl,
    boolean builtinRelay,
    Duration sessionTtl,
    Duration ticketTtl,
    Duration heartbeatTimeout,
    Duration keyRotation)
    implements ConfigSection {

  public static final String DEFAULT_LISTEN = "127.0.0.1:3000";
  public static final Path DEFAULT_DATA_DIR =
      Path.of(System.getProperty("user.home"), ".local", "share", "relaymesh");
  public static final boolean DEFAULT_BUILTIN_RELAY = true;
  public static final Duration DEFAULT_SESSION_TTL = Duration.ofDays(7);
  public static final Duration DEFAULT_TICKET_TTL = Duration.ofMinutes(2);
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_KEY_ROTATION = Duration.ofDays(1);

  public static ControlConfig defaults() {
    return new ControlConfig(DEFAULT_LISTEN, null, DEFAULT_DATA_DIR, null, DEFAULT_BUILTIN_RELAY,
        DEFAULT_SESSION_TTL, DEFAULT_TICKET_TTL, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_KEY_ROTATION);
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (listen == null || listen.lastIndexOf(':') <= 0) {
      problems.add(ConfigSection.key(path, "listen") + ": must be host:port, got '" + listen + "'");
    }
    if (dataDir == null) {
      problems.add(ConfigSection.key(path, "data-dir") + ": must be set");
    }
    positive(path, "session-ttl", sessionTtl, problems);
    positive(path, "ticket-ttl", ticketTtl, problems);
    positive(path, "heartbeat-timeout", heartbeatTimeout, problems);
    positive(path, "key-rotation", keyRotation, problems);
    if (ticketTtl != null && (ticketTtl.compareTo(Duration.ofSeconds(10)) < 0
        || ticketTtl.compareTo(Duration.ofMinutes(10)) > 0)) {
      problems.add(ConfigSection.key(path, "ticket-ttl") + ": must be between 10s and 10m, got "
          + ticketTtl);
    }
  }

  /** This config with {@code field} replaced; used by the CLI and tests. */
  public ControlConfig withListen(String value) {
    return new ControlConfig(value, accessUrl, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation);
  }

  public ControlConfig withDataDir(Path value) {
    return new ControlConfig(listen, accessUrl, value, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation);
  }

  public ControlConfig withPostgresUrl(String value) {
    return new ControlConfig(listen, accessUrl, dataDir, value, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation);
  }

  public ControlConfig withAccessUrl(String value) {
    return new ControlConfig(listen, value, dataDir, postgresUrl, builtinRelay, sessionTtl,
        ticketTtl, heartbeatTimeout, keyRotation);
  }

  private static void positive(String path, String name, Duration d, List<String> problems) {
    if (d == null || d.isZero() || d.isNegative()) {
      problems.add(ConfigSection.key(path, name) + ": must be a positive duration, got " + d);
    }
  }

  @Override
  public String toString() {
    return "ControlConfig[listen=" + listen + ", accessUrl=" + accessUrl + ", dataDir=" + dataDir
        + ", postgresUrl=" + (postgresUrl == null ? null : Secret.MASK) + ", builtinRelay="
        + builtinRelay + ", sessionTtl=" + sessionTtl + ", ticketTtl=" + ticketTtl
        + ", heartbeatTimeout=" + heartbeatTimeout + ", keyRotation=" + keyRotation + "]";
  }
}
