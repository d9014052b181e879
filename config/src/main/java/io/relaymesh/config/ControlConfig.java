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
 */
public record ControlConfig(
    String listen,
    String accessUrl,
    Path dataDir,
    @Secret String postgresUrl,
    boolean builtinRelay,
    Duration sessionTtl,
    Duration ticketTtl,
    Duration heartbeatTimeout)
    implements ConfigSection {

  public static final String DEFAULT_LISTEN = "127.0.0.1:3000";
  public static final Path DEFAULT_DATA_DIR =
      Path.of(System.getProperty("user.home"), ".local", "share", "relaymesh");
  public static final boolean DEFAULT_BUILTIN_RELAY = true;
  public static final Duration DEFAULT_SESSION_TTL = Duration.ofDays(7);
  public static final Duration DEFAULT_TICKET_TTL = Duration.ofMinutes(2);
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(30);

  public static ControlConfig defaults() {
    return new ControlConfig(DEFAULT_LISTEN, null, DEFAULT_DATA_DIR, null, DEFAULT_BUILTIN_RELAY,
        DEFAULT_SESSION_TTL, DEFAULT_TICKET_TTL, DEFAULT_HEARTBEAT_TIMEOUT);
  }

  @Override
  public void validate(String path, List<String> problems) {
    // filled in by the config loader work (issue 2)
  }
}
