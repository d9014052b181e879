package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SelfSignedTest {

  static final List<String> NAMES = List.of("relay.eu.example.com", "*.apps.eu.example.com");

  @TempDir Path state;

  @Test
  void generatedCertificateCoversTheNamesAndIsEcdsaP256() throws Exception {
    PemMaterial m = SelfSigned.loadOrCreate(state, NAMES);

    var cert = m.leaf();
    assertThat(cert.getPublicKey()).isInstanceOf(ECPublicKey.class);
    assertThat(((ECPublicKey) cert.getPublicKey()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
    assertThat(cert.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertThat(cert.getSubjectX500Principal()).isEqualTo(cert.getIssuerX500Principal());
    cert.verify(cert.getPublicKey()); // really self-signed
    var sans = cert.getSubjectAlternativeNames().stream()
        .map(san -> san.get(0) + "=" + san.get(1)).collect(Collectors.toSet());
    assertThat(sans).contains("2=relay.eu.example.com", "2=*.apps.eu.example.com", "2=localhost", "7=127.0.0.1");
    assertThat(sans).anyMatch(s -> s.startsWith("7=0:0:0:0:0:0:0:1"));
    assertThat(cert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()))
        .isGreaterThan(Duration.ofDays(364)).isLessThan(Duration.ofDays(367));
    assertThat(PemMaterial.keyMatches(m.privateKey(), cert)).isTrue();
  }

  @Test
  void secondStartReusesTheStoredCertificate() throws Exception {
    PemMaterial first = SelfSigned.loadOrCreate(state, NAMES);
    PemMaterial second = SelfSigned.loadOrCreate(state, NAMES);

    assertThat(second.sha256Fingerprint()).isEqualTo(first.sha256Fingerprint());
    assertThat(second).isEqualTo(first);
    // the files are ordinary PEM that the relay's own loader reads
    assertThat(PemMaterial.load(SelfSigned.certFile(state), SelfSigned.keyFile(state))).isEqualTo(first);
  }

  @Test
  void keyFileIsOwnerOnly() throws Exception {
    SelfSigned.loadOrCreate(state, NAMES);
    Path key = SelfSigned.keyFile(state);
    if (Files.getFileStore(key).supportsFileAttributeView("posix")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    }
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
  }

  @Test
  void newHostnameReplacesTheStoredCertificate() throws Exception {
    PemMaterial first = SelfSigned.loadOrCreate(state, NAMES);
    PemMaterial second = SelfSigned.loadOrCreate(state, List.of("relay.us.example.com"));

    assertThat(second.sha256Fingerprint()).isNotEqualTo(first.sha256Fingerprint());
    assertThat(second.leaf().getSubjectAlternativeNames()).anyMatch(san -> san.get(1).equals("relay.us.example.com"));
  }

  @Test
  void certificateCloseToExpiryIsReplaced() throws Exception {
    PemMaterial first = SelfSigned.loadOrCreate(state, NAMES);
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(340)), ZoneOffset.UTC);
    Clock earlier = Clock.fixed(Instant.now().plus(Duration.ofDays(300)), ZoneOffset.UTC);

    assertThat(SelfSigned.loadOrCreate(state, NAMES, earlier)).isEqualTo(first);
    assertThat(SelfSigned.loadOrCreate(state, NAMES, later).sha256Fingerprint()).isNotEqualTo(first.sha256Fingerprint());
  }

  @Test
  void damagedStoredKeyIsReplaced() throws Exception {
    PemMaterial first = SelfSigned.loadOrCreate(state, NAMES);
    Files.writeString(SelfSigned.keyFile(state), "garbage");

    PemMaterial second = SelfSigned.loadOrCreate(state, NAMES);

    assertThat(second.sha256Fingerprint()).isNotEqualTo(first.sha256Fingerprint());
    assertThat(SelfSigned.loadOrCreate(state, NAMES)).isEqualTo(second);
  }
}
