package io.relaymesh.proxy.dial;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.SessionMetrics;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link TunnelDialer}. Immutable; start from {@link #defaults()}.
 *
 * @param trust how the relay's certificate is trusted
 * @param proxy HTTP CONNECT proxy, or null for direct connections; {@link #defaults()} reads
 *     {@code HTTPS_PROXY}/{@code NO_PROXY} from the environment ({@link ProxySettings})
 * @param connectTimeout TCP connect timeout (to the relay, or to the proxy)
 * @param handshakeTimeout time for TLS, the WebSocket upgrade and the peer's SETTINGS together
 * @param tunnel session limits
 * @param metrics session metrics
 */
public record DialOptions(TrustSpec trust, ProxySettings proxy, Duration connectTimeout,
    Duration handshakeTimeout, TunnelConfig tunnel, SessionMetrics metrics) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(15);

  public DialOptions {
    Objects.requireNonNull(trust, "trust");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
    Objects.requireNonNull(tunnel, "tunnel");
    metrics = metrics == null ? SessionMetrics.NOOP : metrics;
    if (connectTimeout.isNegative() || connectTimeout.isZero() || handshakeTimeout.isNegative()
        || handshakeTimeout.isZero()) {
      throw new IllegalArgumentException("dial timeouts must be positive");
    }
  }

  /** System trust, proxy from the environment, default timeouts and tunnel limits. */
  public static DialOptions defaults() {
    return new DialOptions(TrustSpec.system(), ProxySettings.fromEnvironment(), DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_HANDSHAKE_TIMEOUT, TunnelConfig.defaults(), SessionMetrics.NOOP);
  }

  public DialOptions withTrust(TrustSpec v) {
    return new DialOptions(v, proxy, connectTimeout, handshakeTimeout, tunnel, metrics);
  }

  public DialOptions withProxy(ProxySettings v) {
    return new DialOptions(trust, v, connectTimeout, handshakeTimeout, tunnel, metrics);
  }

  public DialOptions withTimeouts(Duration connect, Duration handshake) {
    return new DialOptions(trust, proxy, connect, handshake, tunnel, metrics);
  }

  public DialOptions withTunnel(TunnelConfig v) {
    return new DialOptions(trust, proxy, connectTimeout, handshakeTimeout, v, metrics);
  }

  public DialOptions withMetrics(SessionMetrics v) {
    return new DialOptions(trust, proxy, connectTimeout, handshakeTimeout, tunnel, v);
  }
}
