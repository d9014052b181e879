/**
 * TLS termination for the relay.
 *
 * <ul>
 *   <li>{@link io.relaymesh.relay.tls.RelayTls}: the entry point; turns {@link
 *       io.relaymesh.relay.tls.TlsSettings} into Vert.x server options and a reloader.
 *   <li>{@link io.relaymesh.relay.tls.PemMaterial}: certificate chain + key from PEM (PKCS#1,
 *       PKCS#8, SEC1 EC), parsed with BouncyCastle and checked against each other.
 *   <li>{@link io.relaymesh.relay.tls.SelfSigned}: ECDSA P-256 certificate generated when none is
 *       configured, kept in the state directory across restarts.
 *   <li>{@link io.relaymesh.relay.tls.TlsEngine}: OpenSSL (BoringSSL) when it loads, else the JDK.
 *   <li>{@link io.relaymesh.relay.tls.TlsPolicy}: TLS 1.2/1.3, ECDHE + AEAD suites, ALPN h2 and
 *       http/1.1.
 *   <li>{@link io.relaymesh.relay.tls.CertificateReloader}: polls the files and hands a changed,
 *       valid pair to the servers with {@code updateSSLOptions}.
 * </ul>
 *
 * <p>Log lines all start with {@code tls:}; none contains key material.
 */
package io.relaymesh.relay.tls;
