package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.relaymesh.relay.tls.TestPki.Issued;
import io.relaymesh.relay.tls.TestPki.KeyFormat;
import io.relaymesh.relay.tls.TestPki.KeyType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PemMaterialTest {

  static TestPki pki;
  static Issued rsaLeaf;
  static Issued ecLeaf;

  @TempDir Path dir;

  @BeforeAll
  static void pki() {
    pki = new TestPki();
    rsaLeaf = pki.leaf(KeyType.RSA, "rsa.test");
    ecLeaf = pki.leaf(KeyType.EC, "ec.test");
  }

  private static Issued leaf(KeyType type) {
    return type == KeyType.RSA ? rsaLeaf : ecLeaf;
  }

  @ParameterizedTest(name = "{0} key as {1}")
  @CsvSource({"RSA, TRADITIONAL, BEGIN RSA PRIVATE KEY", "RSA, PKCS8, BEGIN PRIVATE KEY",
      "EC, TRADITIONAL, BEGIN EC PRIVATE KEY", "EC, PKCS8, BEGIN PRIVATE KEY"})
  void loadsEachKeyFormatWithItsChain(KeyType type, KeyFormat format, String header) throws Exception {
    Issued leaf = leaf(type);
    Path[] files = TestPki.writePair(dir, "server", leaf, format, leaf.cert(), pki.intermediate.cert());
    assertThat(Files.readString(files[1])).contains(header);

    PemMaterial m = PemMaterial.load(files[0], files[1]);

    assertThat(m.chain()).containsExactly(leaf.cert(), pki.intermediate.cert());
    assertThat(secret(m.privateKey())).isEqualTo(secret(leaf.keys().getPrivate()));
    assertThat(m.privateKeyPkcs8Pem()).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(m.sha256Fingerprint()).isEqualTo(PemMaterial.fingerprint(leaf.cert())).matches("([0-9A-F]{2}:){31}[0-9A-F]{2}");
    // the PEM handed to Vert.x parses back to the same material
    PemMaterial again = PemMaterial.parse("a", m.certificateChainPem().getBytes(StandardCharsets.US_ASCII), "b",
        m.privateKeyPkcs8Pem().getBytes(StandardCharsets.US_ASCII));
    assertThat(again).isEqualTo(m);
  }

  @Test
  void chainGivenOutOfOrderIsPutLeafFirst() throws Exception {
    Path[] files = TestPki.writePair(dir, "server", ecLeaf, KeyFormat.PKCS8,
        pki.root.cert(), pki.intermediate.cert(), ecLeaf.cert());

    PemMaterial m = PemMaterial.load(files[0], files[1]);

    assertThat(m.chain()).containsExactly(ecLeaf.cert(), pki.intermediate.cert(), pki.root.cert());
    assertThat(m.leaf()).isEqualTo(ecLeaf.cert());
  }

  @Test
  void combinedFileWithCertificateAndKey() throws Exception {
    Path both = TestPki.write(dir.resolve("both.pem"),
        TestPki.pem(rsaLeaf.cert(), pki.intermediate.cert()) + TestPki.keyPem(rsaLeaf.keys().getPrivate(), KeyFormat.TRADITIONAL));

    PemMaterial m = PemMaterial.load(both, both);

    assertThat(m.chain()).containsExactly(rsaLeaf.cert(), pki.intermediate.cert());
  }

  @Test
  void keyOfAnotherCertificateIsRefused() throws Exception {
    Issued other = pki.leaf(KeyType.EC, "other.test");
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert(), pki.intermediate.cert()));
    Path key = TestPki.write(dir.resolve("server.key"), TestPki.keyPem(other.keys().getPrivate(), KeyFormat.PKCS8));

    assertThatThrownBy(() -> PemMaterial.load(cert, key))
        .isInstanceOf(TlsMaterialException.class)
        .hasMessage("relay.tls.key: " + key + ": private key does not match the certificate in " + cert
            + " (subject 'CN=ec.test' and 1 more)");
  }

  @Test
  void keyOfAnotherAlgorithmIsRefused() throws Exception {
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert()));
    Path key = TestPki.write(dir.resolve("server.key"), TestPki.keyPem(rsaLeaf.keys().getPrivate(), KeyFormat.PKCS8));

    assertThatThrownBy(() -> PemMaterial.load(cert, key)).hasMessageContaining("does not match");
  }

  @Test
  void garbageKeyFileIsRefusedWithAClearMessage() throws Exception {
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert()));
    Path key = TestPki.write(dir.resolve("server.key"), "this is not a key\n");

    assertThatThrownBy(() -> PemMaterial.load(cert, key))
        .isInstanceOf(TlsMaterialException.class)
        .hasMessage("relay.tls.key: " + key + ": no private key found (expected PKCS#1, PKCS#8 or EC PEM)");
  }

  @Test
  void keyFileWithOnlyACertificateIsRefused() throws Exception {
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert()));

    assertThatThrownBy(() -> PemMaterial.load(cert, cert))
        .hasMessage("relay.tls.key: " + cert + ": no private key found (expected PKCS#1, PKCS#8 or EC PEM)");
  }

  @Test
  void certificateFileWithoutCertificateIsRefused() throws Exception {
    Path key = TestPki.write(dir.resolve("server.key"), TestPki.keyPem(ecLeaf.keys().getPrivate(), KeyFormat.PKCS8));

    assertThatThrownBy(() -> PemMaterial.load(key, key))
        .hasMessage("relay.tls.cert: " + key + ": no certificate found (expected PEM 'BEGIN CERTIFICATE' blocks, leaf first)");
  }

  @Test
  void corruptKeyBlockIsRefusedWithoutQuotingIt() throws Exception {
    String good = TestPki.keyPem(ecLeaf.keys().getPrivate(), KeyFormat.TRADITIONAL);
    String[] lines = good.split("\n");
    // keep the armour, damage the base64 body
    String body = lines[1];
    String corrupt = lines[0] + "\n" + body.substring(0, 20) + "!!!!" + body.substring(24) + "\n" + lines[lines.length - 1] + "\n";
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert()));
    Path key = TestPki.write(dir.resolve("server.key"), corrupt);

    assertThatThrownBy(() -> PemMaterial.load(cert, key))
        .isInstanceOf(TlsMaterialException.class)
        .hasMessageStartingWith("relay.tls.key: " + key + ": ")
        .satisfies(e -> assertNoKeyMaterial(e, ecLeaf));
  }

  @Test
  void encryptedKeyIsRefusedWithAHint() throws Exception {
    Path[] files = TestPki.writePair(dir, "server", ecLeaf, KeyFormat.PKCS8_ENCRYPTED, ecLeaf.cert());
    assertThat(Files.readString(files[1])).contains("BEGIN ENCRYPTED PRIVATE KEY");

    assertThatThrownBy(() -> PemMaterial.load(files[0], files[1]))
        .hasMessageStartingWith("relay.tls.key: " + files[1] + ": encrypted private keys are not supported")
        .hasMessageContaining("openssl pkey");
  }

  @Test
  void weakRsaKeyIsRefused() throws Exception {
    java.security.KeyPairGenerator gen = java.security.KeyPairGenerator.getInstance("RSA");
    gen.initialize(1024);
    Issued weak = pki.leaf(gen.generateKeyPair(), "weak.test");
    Path[] files = TestPki.writePair(dir, "weak", weak, KeyFormat.TRADITIONAL, weak.cert());

    assertThatThrownBy(() -> PemMaterial.load(files[0], files[1]))
        .hasMessage("relay.tls.key: " + files[1] + ": RSA key of 1024 bits is too weak (at least 2048)");
  }

  @Test
  void unknownPemBlockIsNamed() throws Exception {
    Path cert = TestPki.write(dir.resolve("server.crt"), TestPki.pem(ecLeaf.cert()));
    Path key = TestPki.write(dir.resolve("server.key"), "-----BEGIN FOO BAR-----\nAAAA\n-----END FOO BAR-----\n");

    assertThatThrownBy(() -> PemMaterial.load(cert, key))
        .hasMessage("relay.tls.key: " + key + ": unsupported PEM block (unrecognised object: FOO BAR)");
  }

  @Test
  void missingFileIsNamed() {
    Path missing = dir.resolve("nope.crt");
    assertThatThrownBy(() -> PemMaterial.load(missing, missing))
        .hasMessage("relay.tls.cert: " + missing + ": file not found");
  }

  @Test
  void messagesAndToStringNeverContainKeyMaterial() throws Exception {
    Issued other = pki.leaf(KeyType.RSA, "other.test");
    Path[] files = TestPki.writePair(dir, "server", rsaLeaf, KeyFormat.TRADITIONAL, rsaLeaf.cert());
    PemMaterial m = PemMaterial.load(files[0], files[1]);
    assertThat(m.toString()).contains("CN=rsa.test").contains(m.sha256Fingerprint());
    assertNoKeyMaterial(new RuntimeException(m.toString()), rsaLeaf);

    Path wrongKey = TestPki.write(dir.resolve("wrong.key"), TestPki.keyPem(other.keys().getPrivate(), KeyFormat.TRADITIONAL));
    assertThatThrownBy(() -> PemMaterial.load(files[0], wrongKey)).satisfies(e -> assertNoKeyMaterial(e, other));
  }

  @Test
  void readsKeysWrittenByTheOpensslCli() throws Exception {
    assumeTrue(OpensslCli.available(), "openssl CLI not installed (apt-get install openssl)");
    record Case(String name, List<String> genKey, String header) {}
    List<Case> cases = List.of(
        new Case("rsa-pkcs8", List.of("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"), "BEGIN PRIVATE KEY"),
        new Case("ec-pkcs8", List.of("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"), "BEGIN PRIVATE KEY"),
        new Case("ec-sec1-with-params", List.of("ecparam", "-name", "prime256v1", "-genkey"), "BEGIN EC PRIVATE KEY"));
    for (Case c : cases) {
      Path key = dir.resolve(c.name + ".key");
      List<String> args = new java.util.ArrayList<>(c.genKey);
      args.addAll(List.of("-out", key.toString()));
      assertThat(OpensslCli.run(null, args.toArray(String[]::new)).exit()).as(c.name).isZero();
      Path cert = dir.resolve(c.name + ".crt");
      OpensslCli.Run req = OpensslCli.run(null, "req", "-x509", "-key", key.toString(), "-out", cert.toString(),
          "-days", "2", "-subj", "/CN=" + c.name, "-addext", "subjectAltName=DNS:localhost");
      assertThat(req.exit()).as(req.output()).isZero();
      assertThat(Files.readString(key)).contains(c.header);

      PemMaterial m = PemMaterial.load(cert, key);

      assertThat(m.leaf().getSubjectX500Principal().getName()).isEqualTo("CN=" + c.name);
      OpensslCli.Run fp = OpensslCli.run(null, "x509", "-in", cert.toString(), "-noout", "-fingerprint", "-sha256");
      assertThat(fp.output()).contains(m.sha256Fingerprint());
    }
    // PKCS#1 as written by openssl
    Path rsa1 = dir.resolve("rsa-pkcs1.key");
    assertThat(OpensslCli.run(null, "rsa", "-in", dir.resolve("rsa-pkcs8.key").toString(), "-traditional", "-out", rsa1.toString()).exit()).isZero();
    assertThat(Files.readString(rsa1)).contains("BEGIN RSA PRIVATE KEY");
    assertThat(PemMaterial.load(dir.resolve("rsa-pkcs8.crt"), rsa1).leaf().getSubjectX500Principal().getName()).isEqualTo("CN=rsa-pkcs8");
  }

  /** The secret number of a key, independent of how optional fields were encoded. */
  static java.math.BigInteger secret(java.security.PrivateKey key) {
    return key instanceof java.security.interfaces.ECPrivateKey ec ? ec.getS()
        : ((java.security.interfaces.RSAPrivateKey) key).getPrivateExponent();
  }

  static void assertNoKeyMaterial(Throwable e, Issued leaf) {
    String all = String.valueOf(e.getMessage()) + (e.getCause() == null ? "" : e.getCause().toString());
    byte[] der = leaf.keys().getPrivate().getEncoded();
    String b64 = Base64.getEncoder().encodeToString(der);
    for (int i = 0; i + 16 <= b64.length(); i += 16) {
      assertThat(all).doesNotContain(b64.substring(i, i + 16));
    }
    assertThat(all).doesNotContain("PRIVATE KEY-----");
  }
}
