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
    if (ticketTtl != null && !ticketTtl.isNegative() && !ticketTtl.isZero() && (ticketTtl.compareTo(Duration.ofSeconds(10)) < 0
        || ticketTtl.compareTo(Duration.ofMinutes(10)) > 0)) {
      problems.add(ConfigSection.key(path, "ticket-ttl") + ": must be between 10s and 10m, got "
          + io.relaymesh.config.internal.Values.formatDuration(ticketTtl));
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
    if (Checks.required(problems, path, name, d)) {
      Checks.positive(problems, path, name, d);
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
