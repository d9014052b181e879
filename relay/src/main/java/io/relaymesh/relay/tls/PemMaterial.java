package io.relaymesh.relay.tls;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * A server certificate chain and its private key, parsed from PEM with BouncyCastle.
 *
 * <p>Accepted keys: PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}), PKCS#8 ({@code BEGIN PRIVATE
 * KEY}) and SEC1 EC ({@code BEGIN EC PRIVATE KEY}); RSA and EC (P-256, P-384, P-521) only.
 * Encrypted keys are refused with a message that says how to decrypt them. The certificate file
 * holds the leaf and any intermediates; a chain given in another order is put leaf first (the
 * certificate that matches the key), then each issuer. The key must match the leaf's public key.
 *
 * <p>Immutable; {@link #toString()} and every error message leave the key out.
 */
public final class PemMaterial {

  /** Configuration key of the certificate file, used in error messages. */
  public static final String CERT_SETTING = "relay.tls.cert";
  /** Configuration key of the private key file, used in error messages. */
  public static final String KEY_SETTING = "relay.tls.key";

  /** Smallest RSA key accepted. */
  public static final int MIN_RSA_BITS = 2048;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PemMaterial.class);

  private final List<X509Certificate> chain;
  private final PrivateKey key;

  private PemMaterial(List<X509Certificate> chain, PrivateKey key) {
    this.chain = List.copyOf(chain);
    this.key = key;
  }

  /** Reads the certificate chain and the key from two PEM files (they may be the same file). */
  public static PemMaterial load(Path certFile, Path keyFile) throws TlsMaterialException {
    byte[] certPem = read(CERT_SETTING, certFile);
    byte[] keyPem = certFile.equals(keyFile) ? certPem : read(KEY_SETTING, keyFile);
    return parse(certFile.toString(), certPem, keyFile.toString(), keyPem);
  }

  /**
   * Parses PEM text; {@code certSource} and {@code keySource} name where it came from in error
   * messages.
   */
  public static PemMaterial parse(String certSource, byte[] certPem, String keySource, byte[] keyPem)
      throws TlsMaterialException {
    List<X509Certificate> certs = parseCertificates(certSource, certPem);
    PrivateKey key = parseKey(keySource, keyPem);
    String alg = key.getAlgorithm();
    if (!alg.equals("RSA") && !alg.equals("EC")) {
      throw new TlsMaterialException(KEY_SETTING, keySource,
          "unsupported key algorithm " + alg + " (expected RSA or EC)");
    }
    if (key instanceof java.security.interfaces.RSAKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
      throw new TlsMaterialException(KEY_SETTING, keySource, "RSA key of " + rsa.getModulus().bitLength()
          + " bits is too weak (at least " + MIN_RSA_BITS + ")");
    }
    X509Certificate leaf = null;
    for (X509Certificate c : certs) {
      if (keyMatches(key, c)) {
        leaf = c;
        break;
      }
    }
    if (leaf == null) {
      throw new TlsMaterialException(KEY_SETTING, keySource,
          "private key does not match the certificate in " + certSource + " ("
              + describe(certs.get(0)) + (certs.size() > 1 ? " and " + (certs.size() - 1) + " more" : "")
              + ")");
    }
    List<X509Certificate> ordered = order(leaf, certs);
    if (!ordered.equals(certs)) {
      LOG.warn("tls: {}: certificate chain was not leaf first; reordered to {}", certSource,
          ordered.stream().map(PemMaterial::describe).toList());
    }
    return new PemMaterial(ordered, key);
  }

  /** Wraps an already-validated chain and key (used for generated certificates). */
  static PemMaterial of(List<X509Certificate> chain, PrivateKey key) {
    return new PemMaterial(chain, key);
  }

  /** The chain, leaf first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The leaf (server) certificate. */
  public X509Certificate leaf() {
    return chain.get(0);
  }

  /** The private key. Not for logging. */
  public PrivateKey privateKey() {
    return key;
  }

  /** SHA-256 of the leaf certificate's DER encoding, as colon-separated upper-case hex. */
  public String sha256Fingerprint() {
    return fingerprint(leaf());
  }

  /** SHA-256 fingerprint of a certificate, as colon-separated upper-case hex ({@code AB:CD:...}). */
  public static String fingerprint(java.security.cert.Certificate cert) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
      return HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /** The chain as PEM, leaf first. */
  public String certificateChainPem() {
    StringBuilder sb = new StringBuilder();
    for (X509Certificate c : chain) {
      try {
        sb.append(pem("CERTIFICATE", c.getEncoded()));
      } catch (CertificateException e) {
        throw new IllegalStateException("cannot encode certificate " + describe(c), e);
      }
    }
    return sb.toString();
  }

  /** The private key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). Not for logging. */
  public String privateKeyPkcs8Pem() {
    return pem("PRIVATE KEY", key.getEncoded());
  }

  /** In-memory Vert.x key/cert options (PKCS#8 key, chain leaf first); work with both engines. */
  public PemKeyCertOptions toKeyCertOptions() {
    return new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(privateKeyPkcs8Pem(), "US-ASCII"))
        .setCertValue(Buffer.buffer(certificateChainPem(), "US-ASCII"));
  }

  @Override
  public String toString() {
    return "PemMaterial{leaf=" + describe(leaf()) + ", chain=" + chain.size() + ", key="
        + key.getAlgorithm() + ", sha256=" + sha256Fingerprint() + "}";
  }

  static String describe(X509Certificate c) {
    return "subject '" + c.getSubjectX500Principal().getName() + "'";
  }

  static byte[] read(String setting, Path file) throws TlsMaterialException {
    try {
      return Files.readAllBytes(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new TlsMaterialException(setting, file.toString(), "file not found");
    } catch (java.nio.file.AccessDeniedException e) {
      throw new TlsMaterialException(setting, file.toString(), "permission denied");
    } catch (IOException e) {
      throw new TlsMaterialException(setting, file.toString(), "cannot read (" + e.getClass().getSimpleName() + ")");
    }
  }

  private static List<X509Certificate> parseCertificates(String source, byte[] pem)
      throws TlsMaterialException {
    List<X509Certificate> certs = new ArrayList<>();
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      Object o;
      while ((o = readObject(parser, CERT_SETTING, source)) != null) {
        if (o instanceof X509CertificateHolder holder) {
          try {
            certs.add(converter.getCertificate(holder));
          } catch (CertificateException e) {
            throw new TlsMaterialException(CERT_SETTING, source,
                "certificate " + (certs.size() + 1) + " is not a valid X.509 certificate");
          }
        }
        // keys and parameters in a combined file are skipped here; parseKey reads them
      }
    } catch (IOException e) {
      throw new TlsMaterialException(CERT_SETTING, source, "cannot read PEM");
    }
    if (certs.isEmpty()) {
      throw new TlsMaterialException(CERT_SETTING, source,
          "no certificate found (expected PEM 'BEGIN CERTIFICATE' blocks, leaf first)");
    }
    return certs;
  }

  private static PrivateKey parseKey(String source, byte[] pem) throws TlsMaterialException {
    PrivateKeyInfo found = null;
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
    try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      Object o;
      while ((o = readObject(parser, KEY_SETTING, source)) != null) {
        PrivateKeyInfo info = null;
        if (o instanceof PEMKeyPair pair) { // PKCS#1 RSA, SEC1 EC
          info = pair.getPrivateKeyInfo();
        } else if (o instanceof PrivateKeyInfo pki) { // PKCS#8
          info = pki;
        } else if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
          throw new TlsMaterialException(KEY_SETTING, source,
              "encrypted private keys are not supported; decrypt it first"
                  + " (openssl pkey -in KEY -out KEY.plain) and protect the file with permissions");
        }
        if (info != null) {
          if (found != null) {
            throw new TlsMaterialException(KEY_SETTING, source,
                "more than one private key found (expected exactly one)");
          }
          found = info;
        }
      }
    } catch (IOException e) {
      throw new TlsMaterialException(KEY_SETTING, source, "cannot read PEM");
    }
    if (found == null) {
      throw new TlsMaterialException(KEY_SETTING, source,
          "no private key found (expected PKCS#1, PKCS#8 or EC PEM)");
    }
    try {
      return converter.getPrivateKey(found);
    } catch (IOException | RuntimeException e) {
      // no e.getMessage(): a JCA message may quote key bytes
      throw new TlsMaterialException(KEY_SETTING, source,
          "private key cannot be decoded (algorithm " + found.getPrivateKeyAlgorithm().getAlgorithm() + ")");
    }
  }

  /** PEMParser.readObject with errors mapped to a message that quotes no input. */
  private static Object readObject(PEMParser parser, String setting, String source)
      throws TlsMaterialException {
    try {
      return parser.readObject();
    } catch (IOException | RuntimeException e) {
      // BouncyCastle's messages may quote the input: only its "unrecognised object: TYPE" is passed on
      String m = e.getMessage();
      throw new TlsMaterialException(setting, source, m != null && m.startsWith("unrecognised object")
          ? "unsupported PEM block (" + m + ")"
          : "malformed PEM block (bad base64 or DER inside BEGIN/END)");
    }
  }

  /** Proves possession: a signature made with the key verifies with the certificate's public key. */
  static boolean keyMatches(PrivateKey key, X509Certificate cert) {
    String certAlg = cert.getPublicKey().getAlgorithm();
    if (!certAlg.equals(key.getAlgorithm())) {
      return false;
    }
    String sigAlg = switch (certAlg) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> null;
    };
    if (sigAlg == null) {
      return false;
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = Signature.getInstance(sigAlg);
      signer.initSign(key);
      signer.update(challenge);
      byte[] sig = signer.sign();
      Signature verifier = Signature.getInstance(sigAlg);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(challenge);
      return verifier.verify(sig);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Leaf first, then issuer after issuer as far as the given certificates go, then the rest. */
  private static List<X509Certificate> order(X509Certificate leaf, List<X509Certificate> certs) {
    List<X509Certificate> rest = new ArrayList<>(certs);
    rest.remove(leaf);
    List<X509Certificate> out = new ArrayList<>();
    out.add(leaf);
    X509Certificate current = leaf;
    while (!rest.isEmpty()) {
      X509Certificate issuer = null;
      for (X509Certificate c : rest) {
        if (c.getSubjectX500Principal().equals(current.getIssuerX500Principal())) {
          issuer = c;
          break;
        }
      }
      if (issuer == null || current.getSubjectX500Principal().equals(current.getIssuerX500Principal())) {
        break;
      }
      out.add(issuer);
      rest.remove(issuer);
      current = issuer;
    }
    out.addAll(rest);
    return out;
  }

  static String pem(String type, byte[] der) {
    StringWriter w = new StringWriter();
    w.append("-----BEGIN ").append(type).append("-----\n");
    w.append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der));
    w.append("\n-----END ").append(type).append("-----\n");
    return w.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PemMaterial other && chain.equals(other.chain)
        && java.util.Arrays.equals(key.getEncoded(), other.key.getEncoded());
  }

  @Override
  public int hashCode() {
    return Objects.hash(chain);
  }
}
