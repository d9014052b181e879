package io.relaymesh.relay.tls;

import io.vertx.core.net.ServerSSLOptions;
import java.util.List;
import java.util.Set;

/**
 * The relay's TLS policy: TLS 1.2 and 1.3 only, forward-secret AEAD cipher suites only, ALPN
 * {@code h2} then {@code http/1.1}.
 *
 * <p>Cipher suites use the IANA/JSSE names; Netty translates them for OpenSSL. Both RSA and ECDSA
 * certificates are covered: the TLS 1.2 list holds the ECDHE_ECDSA and ECDHE_RSA variants of
 * AES-GCM and CHACHA20-POLY1305, and none of the suites is on the HTTP/2 deny list (RFC 9113,
 * Appendix A). Everything else (CBC, static RSA key exchange, finite-field DHE, 3DES, RC4, NULL,
 * export) is refused during the handshake.
 */
public final class TlsPolicy {

  /** Enabled protocol versions. */
  public static final Set<String> PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

  /** TLS 1.3 suites: all AEAD, key exchange is always ephemeral in TLS 1.3. */
  public static final List<String> TLS13_CIPHER_SUITES =
      List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

  /** TLS 1.2 suites: ECDHE key exchange (forward secrecy) with an AEAD cipher. */
  public static final List<String> TLS12_CIPHER_SUITES =
      List.of(
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  /** ALPN protocols offered, in order of preference (the relay serves HTTP/2 to browsers). */
  public static final List<String> ALPN_PROTOCOLS = List.of("h2", "http/1.1");

  /**
   * How long a client may take to complete the handshake before the connection is closed, unless
   * configured ({@code relay.listener.tls-handshake-timeout}, {@link #handshakeTimeout}).
   */
  public static final long HANDSHAKE_TIMEOUT_SECONDS = 10;

  private TlsPolicy() {}

  /** All enabled cipher suites, TLS 1.3 first. */
  public static List<String> cipherSuites() {
    return java.util.stream.Stream.concat(TLS13_CIPHER_SUITES.stream(), TLS12_CIPHER_SUITES.stream())
        .toList();
  }

  /**
   * Sets the TLS handshake timeout ({@code relay.listener.tls-handshake-timeout}) of
   * {@code options} (server options or SSL options); returns {@code options}.
   */
  public static <T extends io.vertx.core.net.TCPSSLOptions> T handshakeTimeout(T options,
      java.time.Duration timeout) {
    options.setSslHandshakeTimeout(timeout.toMillis());
    options.setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
    return options;
  }

  /** Like {@link #handshakeTimeout(io.vertx.core.net.TCPSSLOptions, java.time.Duration)}. */
  public static ServerSSLOptions handshakeTimeout(ServerSSLOptions options,
      java.time.Duration timeout) {
    options.setSslHandshakeTimeout(timeout.toMillis());
    options.setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
    return options;
  }

  /** Applies protocols, cipher suites, ALPN and the handshake timeout to {@code options}. */
  public static ServerSSLOptions applyTo(ServerSSLOptions options) {
    options.setEnabledSecureTransportProtocols(new java.util.LinkedHashSet<>(List.of("TLSv1.3", "TLSv1.2")));
    new java.util.ArrayList<>(options.getEnabledCipherSuites()).forEach(options::removeEnabledCipherSuite);
    cipherSuites().forEach(options::addEnabledCipherSuite);
    options.setUseAlpn(true);
    options.setApplicationLayerProtocols(ALPN_PROTOCOLS);
    options.setSslHandshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS);
    options.setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
    return options;
  }
}
