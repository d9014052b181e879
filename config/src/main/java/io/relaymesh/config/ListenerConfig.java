package io.relaymesh.config;

import io.relaymesh.config.internal.Values;
import java.time.Duration;
import java.util.List;

/**
 * Connection-level limits of the relay's public TLS listener against slow or silent clients
 * (slowloris, stuck TLS handshakes) and against one address holding too many connections; YAML
 * section {@code relay.listener}, flags {@code --listener-*}. A connection that breaks one is
 * closed (with {@code 408} when an HTTP answer is still possible) and counted in
 * {@code relaymesh_relay_connection_refusals_total} by reason (docs/metrics.md).
 *
 * @param tlsHandshakeTimeout time from TCP accept to a finished TLS handshake
 * @param headTimeout time from the first byte of an HTTP/1.x request (also a WebSocket upgrade)
 *     to the end of its head (request line and headers); on HTTP/2, time for a connection to
 *     send its first request
 * @param keepaliveTimeout time an HTTP connection may sit between requests (no request open)
 * @param bodyIdleTimeout time a request body may send nothing while the relay is ready to read
 *     it (time the relay pauses the client for back-pressure, and time after the answer began,
 *     do not count); 0 disables
 * @param bodyMinRate bytes per second a request body must average once it had
 *     {@code bodyIdleTimeout} of grace: the body may take at most
 *     {@code bodyIdleTimeout + bytes / bodyMinRate} of reading time (the grace is
 *     {@link #DEFAULT_BODY_IDLE_TIMEOUT} when {@code bodyIdleTimeout} is 0); 0 disables
 * @param maxConnectionsPerAddress connections one client address may have open at once
 *     (counted from TCP accept, TLS handshakes in progress included; IPv6 addresses by their
 *     /64 prefix); one more is closed at accept, reason {@code per-address-limit}; 0 disables
 */
public record ListenerConfig(
    @Doc("time from TCP accept to a finished TLS handshake; a client that takes longer is"
        + " disconnected") Duration tlsHandshakeTimeout,
    @Doc("time from the first byte of an HTTP/1.x request (also a WebSocket upgrade) to the end"
        + " of its headers, else 408 and close; HTTP/2: time to send the first request")
    Duration headTimeout,
    @Doc("time an HTTP connection may stay open with no request in progress, then it is closed")
    Duration keepaliveTimeout,
    @Doc("time a request body may send nothing while the relay is ready to read it and the"
        + " answer has not begun, else 408 and close; 0 disables")
    Duration bodyIdleTimeout,
    @Doc("bytes per second a request body must average after body-idle-timeout of grace (30s"
        + " when that is 0; time paused by back-pressure or after the answer began does not"
        + " count); 0 disables") @ByteSize int bodyMinRate,
    @Doc("connections one client address (IPv6: its /64 prefix) may have open at once, TLS"
        + " handshakes in progress included; one more is closed at once; 0 disables")
    int maxConnectionsPerAddress)
    implements ConfigSection {

  public static final Duration DEFAULT_TLS_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_HEAD_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_KEEPALIVE_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_BODY_IDLE_TIMEOUT = Duration.ofSeconds(30);
  public static final int DEFAULT_BODY_MIN_RATE = 512;
  /**
   * Room for a large office or a cloud NAT gateway behind one address: about 100 developers
   * each with a few CLI tunnels and browser connections to apps, or 1,000 agents, per relay
   * replica.
   */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 4096;

  public static ListenerConfig defaults() {
    return new ListenerConfig(DEFAULT_TLS_HANDSHAKE_TIMEOUT, DEFAULT_HEAD_TIMEOUT,
        DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_BODY_IDLE_TIMEOUT, DEFAULT_BODY_MIN_RATE,
        DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  }

  public ListenerConfig withTlsHandshakeTimeout(Duration value) {
    return new ListenerConfig(value, headTimeout, keepaliveTimeout, bodyIdleTimeout,
        bodyMinRate, maxConnectionsPerAddress);
  }

  public ListenerConfig withHeadTimeouts(Duration head, Duration keepalive) {
    return new ListenerConfig(tlsHandshakeTimeout, head, keepalive, bodyIdleTimeout,
        bodyMinRate, maxConnectionsPerAddress);
  }

  public ListenerConfig withBodyLimits(Duration idle, int minRate) {
    return new ListenerConfig(tlsHandshakeTimeout, headTimeout, keepaliveTimeout, idle,
        minRate, maxConnectionsPerAddress);
  }

  /** {@code max} connections per client address; 0: no limit. */
  public ListenerConfig withMaxConnectionsPerAddress(int max) {
    return new ListenerConfig(tlsHandshakeTimeout, headTimeout, keepaliveTimeout,
        bodyIdleTimeout, bodyMinRate, max);
  }

  @Override
  public void validate(String path, List<String> problems) {
    String[] names = {"tls-handshake-timeout", "head-timeout", "keepalive-timeout"};
    Duration[] values = {tlsHandshakeTimeout, headTimeout, keepaliveTimeout};
    for (int i = 0; i < names.length; i++) {
      if (Checks.required(problems, path, names[i], values[i])) {
        Checks.positive(problems, path, names[i], values[i]);
      }
    }
    if (Checks.required(problems, path, "body-idle-timeout", bodyIdleTimeout)
        && bodyIdleTimeout.isNegative()) { // 0 disables
      problems.add(ConfigSection.key(path, "body-idle-timeout")
          + ": must be 0 (off) or positive, got " + Values.formatDuration(bodyIdleTimeout));
    }
    Checks.range(problems, path, "body-min-rate", bodyMinRate, 0, Integer.MAX_VALUE);
    Checks.range(problems, path, "max-connections-per-address", maxConnectionsPerAddress, 0,
        Integer.MAX_VALUE);
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
