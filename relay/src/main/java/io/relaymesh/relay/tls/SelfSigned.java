package io.relaymesh.relay.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A self-signed ECDSA P-256 server certificate, generated with BouncyCastle when no certificate
 * is configured, and kept in a state directory so that it survives restarts (browser exceptions
 * and CLI pins keep working).
 *
 * <p>Files: {@code <stateDir>/tls/self-signed.crt} and {@code <stateDir>/tls/self-signed.key}
 * (PKCS#8, owner-only permissions where the file system has POSIX permissions). A stored
 * certificate is reused unless it cannot be read, expires within {@link #RENEW_BEFORE}, or lacks
 * one of the requested names; then a new one is generated (and its new fingerprint logged).
 */
public final class SelfSigned {

  /** Validity of a generated certificate. */
  public static final Duration VALIDITY = Duration.ofDays(365);
  /** A stored certificate closer than this to its expiry is replaced at start. */
  public static final Duration RENEW_BEFORE = Duration.ofDays(30);
  /** Names always in a generated certificate, besides the requested ones. */
  public static final List<String> DEFAULT_NAMES = List.of("localhost", "127.0.0.1", "::1");

  static final String DIR = "tls";
  static final String CERT_FILE = "self-signed.crt";
  static final String KEY_FILE = "self-signed.key";

  private static final Logger LOG = LoggerFactory.getLogger(SelfSigned.class);
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private SelfSigned() {}

  /** The certificate file inside {@code stateDir}. */
  public static Path certFile(Path stateDir) {
    return stateDir.resolve(DIR).resolve(CERT_FILE);
  }

  /** The key file inside {@code stateDir}. */
  public static Path keyFile(Path stateDir) {
    return stateDir.resolve(DIR).resolve(KEY_FILE);
  }

  /** Like {@link #loadOrCreate(Path, Collection, Clock)} with the system clock. */
  public static PemMaterial loadOrCreate(Path stateDir, Collection<String> hostnames) throws IOException {
    return loadOrCreate(stateDir, hostnames, Clock.systemUTC());
  }

  /**
   * Returns the stored self-signed certificate when it is still good for {@code hostnames},
   * otherwise generates, stores and returns a new one. Logs the SHA-256 fingerprint either way.
   */
  public static PemMaterial loadOrCreate(Path stateDir, Collection<String> hostnames, Clock clock)
      throws IOException {
    Set<String> names = names(hostnames);
    Path cert = certFile(stateDir);
    Path key = keyFile(stateDir);
    String reason;
    if (Files.exists(cert) || Files.exists(key)) {
      try {
        PemMaterial stored = PemMaterial.load(cert, key);
        reason = unusableBecause(stored.leaf(), names, clock.instant());
        if (reason == null) {
          LOG.info("tls: self-signed certificate (reused from {}), sha256 fingerprint {}", cert,
              stored.sha256Fingerprint());
          return stored;
        }
      } catch (TlsMaterialException e) {
        reason = e.getMessage();
      }
      LOG.warn("tls: replacing stored self-signed certificate: {}", reason);
    }
    PemMaterial created = generate(names, clock.instant());
    store(created, cert, key);
    LOG.info("tls: self-signed certificate for {} written to {}, sha256 fingerprint {}", names, cert,
        created.sha256Fingerprint());
    return created;
  }

  /** Generates a certificate for {@code hostnames} plus {@link #DEFAULT_NAMES}; stores nothing. */
  public static PemMaterial generate(Collection<String> hostnames, Instant now) {
    Set<String> names = names(hostnames);
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
      gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair pair = gen.generateKeyPair();
      X500NameBuilder dn = new X500NameBuilder(BCStyle.INSTANCE)
          .addRDN(BCStyle.O, "Relaymesh relay (self-signed)")
          .addRDN(BCStyle.CN, names.iterator().next());
      X500Name subject = dn.build();
      BigInteger serial = new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial,
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject,
          pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      builder.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      builder.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(pair.getPublic()));
      List<GeneralName> sans = new ArrayList<>();
      for (String n : names) {
        sans.add(isIpLiteral(n) ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n));
      }
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
      X509Certificate cert = new JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
      return PemMaterial.of(List.of(cert), pair.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("tls: cannot generate a self-signed certificate: " + e, e);
    }
  }

  /** Null when {@code cert} covers {@code names} and is valid long enough, else why not. */
  static String unusableBecause(X509Certificate cert, Set<String> names, Instant now) {
    Instant notAfter = cert.getNotAfter().toInstant();
    if (now.plus(RENEW_BEFORE).isAfter(notAfter)) {
      return "it expires " + notAfter + " (renewed " + RENEW_BEFORE.toDays() + " days before)";
    }
    Set<String> present = new LinkedHashSet<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          present.add(normalize(String.valueOf(san.get(1))));
        }
      }
    } catch (CertificateParsingException e) {
      return "its subject alternative names cannot be read";
    }
    for (String n : names) {
      if (!present.contains(normalize(n))) {
        return "it does not cover '" + n + "'";
      }
    }
    return null;
  }

  private static Set<String> names(Collection<String> hostnames) {
    Set<String> names = new LinkedHashSet<>();
    for (String h : hostnames) {
      if (h != null && !h.isBlank()) {
        names.add(h.trim().toLowerCase(Locale.ROOT));
      }
    }
    names.addAll(DEFAULT_NAMES);
    return names;
  }

  private static String normalize(String name) {
    if (name.contains(":") && name.matches("[0-9A-Fa-f:.]+")) {
      try { // JDK renders IPv6 SANs in long form (0:0:0:0:0:0:0:1)
        return java.net.InetAddress.getByName(name).getHostAddress();
      } catch (java.net.UnknownHostException e) {
        return name;
      }
    }
    return name.toLowerCase(Locale.ROOT);
  }

  static boolean isIpLiteral(String name) {
    return IPV4.matcher(name).matches() || name.contains(":");
  }

  private static void store(PemMaterial m, Path cert, Path key) throws IOException {
    Files.createDirectories(cert.getParent());
    writeAtomically(key, m.privateKeyPkcs8Pem(), true);
    writeAtomically(cert, m.certificateChainPem(), false);
  }

  private static void writeAtomically(Path target, String content, boolean secret) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    boolean posix = Files.getFileStore(target.getParent()).supportsFileAttributeView("posix");
    if (secret && posix) {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } else {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    try {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
