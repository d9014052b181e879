package io.relaymesh.relay.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Test certificates made with BouncyCastle: a root CA, an intermediate and server leaves. */
final class TestPki {

  enum KeyType { RSA, EC }

  /** How a private key is written. */
  enum KeyFormat {
    /** {@code BEGIN RSA PRIVATE KEY} or {@code BEGIN EC PRIVATE KEY}. */
    TRADITIONAL,
    /** {@code BEGIN PRIVATE KEY}. */
    PKCS8,
    /** {@code BEGIN ENCRYPTED PRIVATE KEY}. */
    PKCS8_ENCRYPTED
  }

  record Issued(X509Certificate cert, KeyPair keys) {}

  final Issued root;
  final Issued intermediate;

  TestPki() {
    this(KeyType.EC);
  }

  TestPki(KeyType caKeyType) {
    KeyPair rootKeys = keyPair(caKeyType);
    root = new Issued(sign("CN=Test Root", rootKeys.getPublic(), "CN=Test Root", rootKeys, true, List.of()), rootKeys);
    KeyPair intKeys = keyPair(caKeyType);
    intermediate = new Issued(sign("CN=Test Intermediate", intKeys.getPublic(), "CN=Test Root", rootKeys, true, List.of()), intKeys);
  }

  /** A server certificate for {@code localhost} and {@code 127.0.0.1}, issued by the intermediate. */
  Issued leaf(KeyType type, String cn) {
    return leaf(keyPair(type), cn);
  }

  Issued leaf(KeyPair keys, String cn) {
    return new Issued(sign("CN=" + cn, keys.getPublic(), "CN=Test Intermediate", intermediate.keys(), false,
        List.of("localhost", "127.0.0.1")), keys);
  }

  static KeyPair keyPair(KeyType type) {
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance(type.name());
      if (type == KeyType.EC) {
        gen.initialize(new ECGenParameterSpec("secp256r1"));
      } else {
        gen.initialize(2048);
      }
      return gen.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(String subject, java.security.PublicKey pub, String issuer, KeyPair issuerKeys,
      boolean ca, List<String> sans) {
    try {
      Instant now = Instant.now();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name(issuer),
          new BigInteger(64, new SecureRandom()).add(BigInteger.ONE), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(Duration.ofDays(2))), new X500Name(subject), pub);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign
          : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      if (!sans.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.stream()
            .map(n -> n.matches("[0-9.]+") ? new GeneralName(GeneralName.iPAddress, n) : new GeneralName(GeneralName.dNSName, n))
            .toArray(GeneralName[]::new)));
      }
      String alg = issuerKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(issuerKeys.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(Object... objects) {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        pw.writeObject(o);
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return w.toString();
  }

  static String keyPem(PrivateKey key, KeyFormat format) {
    try {
      return switch (format) {
        case TRADITIONAL -> key.getAlgorithm().equals("EC") ? sec1(key) : pem(key);
        case PKCS8 -> pem(new JcaPKCS8Generator(key, null));
        case PKCS8_ENCRYPTED -> pem(new JcaPKCS8Generator(key,
            new JceOpenSSLPKCS8EncryptorBuilder(JcaPKCS8Generator.AES_256_CBC)
                .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
                .setPassword("secret".toCharArray()).build()));
      };
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * SEC1 {@code EC PRIVATE KEY} with the curve parameters, as OpenSSL writes it (BouncyCastle's
   * writer leaves the parameters out for JDK keys, which neither OpenSSL nor the JDK can read).
   */
  static String sec1(PrivateKey key) throws IOException {
    org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
    org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
    org.bouncycastle.asn1.sec.ECPrivateKey full = new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(),
        info.getPrivateKeyAlgorithm().getParameters());
    return pem(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", full.getEncoded()));
  }

  static Path write(Path file, String content) throws IOException {
    Files.writeString(file, content, StandardCharsets.US_ASCII);
    return file;
  }

  /** Writes {@code chain} (in the given order) and the key of {@code leaf}; returns {cert, key}. */
  static Path[] writePair(Path dir, String name, Issued leaf, KeyFormat format, X509Certificate... chain) throws IOException {
    Path cert = write(dir.resolve(name + ".crt"), pem((Object[]) chain));
    Path key = write(dir.resolve(name + ".key"), keyPem(leaf.keys().getPrivate(), format));
    return new Path[] {cert, key};
  }
}
