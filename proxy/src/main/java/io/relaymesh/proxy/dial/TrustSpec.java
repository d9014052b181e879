package io.relaymesh.proxy.dial;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * How a tunnel client decides to trust the relay's TLS certificate. Three modes:
 *
 * <ul>
 *   <li>{@link #system()}: the JVM's default trust store, with host name verification;
 *   <li>{@link #pemFile(Path)}: the CA or self-signed certificate(s) in a PEM file (e.g.
 *       {@code caCert} of {@code relaymesh dev}'s {@code dev.json}), with host name verification
 *       (the certificate must name the host of the URL in its subject alternative names);
 *   <li>{@link #pinnedSha256(String)}: exactly the leaf certificate whose DER encoding has this
 *       SHA-256 digest; chain and host name are not checked (the pin is stronger than both).
 * </ul>
 *
 * <p>A fingerprint is 64 hex digits, case-insensitive, optionally separated by colons and
 * optionally prefixed with {@code sha256:} (the form {@code openssl x509 -fingerprint -sha256}
 * prints is accepted).
 */
public final class TrustSpec {

  /** The trust mode. */
  public enum Mode { SYSTEM, PEM_FILE, PINNED_SHA256 }

  private final Mode mode;
  private final Path pemFile;
  private final byte[] pin;

  private TrustSpec(Mode mode, Path pemFile, byte[] pin) {
    this.mode = mode;
    this.pemFile = pemFile;
    this.pin = pin;
  }

  public static TrustSpec system() {
    return new TrustSpec(Mode.SYSTEM, null, null);
  }

  public static TrustSpec pemFile(Path pem) {
    return new TrustSpec(Mode.PEM_FILE, Objects.requireNonNull(pem, "pem"), null);
  }

  /** @throws IllegalArgumentException when the fingerprint is not 32 bytes of hex */
  public static TrustSpec pinnedSha256(String fingerprint) {
    return new TrustSpec(Mode.PINNED_SHA256, null, parseFingerprint(fingerprint));
  }

  public Mode mode() {
    return mode;
  }

  /** The PEM file ({@link Mode#PEM_FILE}), else null. */
  public Path pemPath() {
    return pemFile;
  }

  /** The pinned digest ({@link Mode#PINNED_SHA256}), else null. */
  public byte[] pin() {
    return pin == null ? null : pin.clone();
  }

  static byte[] parseFingerprint(String fingerprint) {
    Objects.requireNonNull(fingerprint, "fingerprint");
    String s = fingerprint.trim().toLowerCase(Locale.ROOT);
    if (s.startsWith("sha256:")) {
      s = s.substring("sha256:".length());
    }
    s = s.replace(":", "");
    if (s.length() != 64 || !s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException("a SHA-256 certificate fingerprint is 64 hex digits (colons allowed), got '"
          + fingerprint + "'");
    }
    return HexFormat.of().parseHex(s);
  }

  /** Lower-case hex SHA-256 of the certificate's DER encoding, colon-separated pairs. */
  public static String sha256Fingerprint(X509Certificate cert) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
      return HexFormat.ofDelimiter(":").formatHex(d);
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException("cannot fingerprint certificate: " + e.getMessage(), e);
    }
  }

  /** The SHA-256 fingerprint of the first certificate of a PEM file. */
  public static String sha256FingerprintOfPem(Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      return sha256Fingerprint(cert);
    } catch (CertificateException e) {
      throw new IOException(pem + ": not a PEM certificate: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    switch (mode) {
      case PEM_FILE:
        return "trust " + pemFile;
      case PINNED_SHA256:
        return "pinned sha256 " + HexFormat.ofDelimiter(":").formatHex(pin);
      default:
        return "system trust";
    }
  }

  /**
   * The Vert.x trust options for this spec (a tunnel's WebSocket client and the latency probe's
   * HTTP client use the same): a PEM file, a pinned certificate, or {@code null} for the system's
   * CAs. With a pin the host name is not verified ({@link #verifyHost()}): the pin identifies the
   * server.
   */
  public io.vertx.core.net.TrustOptions trustOptions() {
    return switch (mode()) {
      case PEM_FILE -> new io.vertx.core.net.PemTrustOptions().addCertPath(pemPath().toString());
      case PINNED_SHA256 -> io.vertx.core.net.TrustOptions.wrap(new PinnedTrustManager(pin()));
      default -> null;
    };
  }

  /** Whether the server's host name is checked against its certificate (all but a pin). */
  public boolean verifyHost() {
    return mode() != Mode.PINNED_SHA256;
  }
}
