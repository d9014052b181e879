package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelayTlsTest {

  @TempDir Path dir;

  @Test
  void policyIsTls12And13WithForwardSecretAeadSuitesOnly() {
    assertThat(TlsPolicy.PROTOCOLS).containsExactlyInAnyOrder("TLSv1.2", "TLSv1.3");
    assertThat(TlsPolicy.TLS12_CIPHER_SUITES).allSatisfy(suite -> {
      assertThat(suite).startsWith("TLS_ECDHE_");
      assertThat(suite).containsAnyOf("_GCM_", "_CHACHA20_POLY1305_");
    });
    assertThat(TlsPolicy.cipherSuites()).doesNotContain("TLS_RSA_WITH_AES_128_GCM_SHA256")
        .noneMatch(s -> s.contains("CBC") || s.contains("_DHE_") || s.contains("3DES") || s.contains("RC4"));
    assertThat(TlsPolicy.ALPN_PROTOCOLS).containsExactly("h2", "http/1.1");
  }

  @Test
  void configureTurnsOnTlsWithThePolicy() throws Exception {
    RelayTls tls = RelayTls.create(TlsSettings.selfSigned(dir, List.of("relay.test")).withEngine(TlsEngine.Preference.JDK));
    HttpServerOptions options = tls.configure(new HttpServerOptions().addEnabledCipherSuite("TLS_RSA_WITH_AES_128_CBC_SHA"));

    assertThat(options.isSsl()).isTrue();
    assertThat(options.getSslEngineOptions()).isInstanceOf(JdkSSLEngineOptions.class);
    assertThat(options.getEnabledSecureTransportProtocols()).containsExactlyInAnyOrder("TLSv1.2", "TLSv1.3");
    assertThat(options.getEnabledCipherSuites()).containsExactlyInAnyOrderElementsOf(TlsPolicy.cipherSuites());
    assertThat(options.isUseAlpn()).isTrue();
    assertThat(options.getAlpnVersions()).containsExactly(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1);
    PemKeyCertOptions pem = (PemKeyCertOptions) options.getKeyCertOptions();
    assertThat(pem.getKeyValue().toString()).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(pem.getCertValue().toString()).isEqualTo(tls.material().certificateChainPem());

    ServerSSLOptions reloadOptions = tls.sslOptions();
    assertThat(reloadOptions.getEnabledSecureTransportProtocols()).containsExactlyInAnyOrder("TLSv1.2", "TLSv1.3");
    assertThat(reloadOptions.getEnabledCipherSuites()).containsExactlyInAnyOrderElementsOf(TlsPolicy.cipherSuites());
    assertThat(reloadOptions.getApplicationLayerProtocols()).containsExactly("h2", "http/1.1");
  }

  @Test
  void engineFollowsThePreference() {
    assertThat(TlsEngine.select(TlsEngine.Preference.JDK).options()).isInstanceOf(JdkSSLEngineOptions.class);
    if (TlsEngine.openSslAvailable()) {
      assertThat(TlsEngine.select(TlsEngine.Preference.AUTO).options()).isInstanceOf(OpenSSLEngineOptions.class);
    } else {
      assertThat(TlsEngine.select(TlsEngine.Preference.AUTO)).isEqualTo(TlsEngine.JDK);
      assertThatThrownBy(() -> TlsEngine.select(TlsEngine.Preference.OPENSSL))
          .hasMessageStartingWith("relay.tls.engine: openssl requested but not available");
    }
    assertThat(TlsEngine.Preference.parse(" OpenSSL ")).isEqualTo(TlsEngine.Preference.OPENSSL);
    assertThatThrownBy(() -> TlsEngine.Preference.parse("gnutls"))
        .hasMessage("relay.tls.engine: 'gnutls' is not one of auto, openssl, jdk");
  }

  @Test
  void settingsNameEveryProblem() {
    assertThat(new TlsSettings(dir.resolve("c.pem"), null, null, null, Duration.ZERO, null).problems())
        .containsExactly("relay.tls.key: missing (relay.tls.cert is set; give both or neither)",
            "relay.tls.reload-interval: must be positive, was PT0S");
    assertThat(new TlsSettings(null, dir.resolve("k.pem"), dir, null, null, null).problems())
        .containsExactly("relay.tls.cert: missing (relay.tls.key is set; give both or neither)");
    assertThat(new TlsSettings(null, null, null, null, null, null).problems())
        .containsExactly("relay.tls.state-dir: missing (needed to keep the self-signed certificate)");
    assertThat(TlsSettings.selfSigned(dir, List.of()).problems()).isEmpty();
    assertThatThrownBy(() -> RelayTls.create(new TlsSettings(dir.resolve("c.pem"), null, null, null, null, null)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relay.tls.key: missing");
  }

  @Test
  void worldReadableKeyIsReported() throws Exception {
    Path key = java.nio.file.Files.writeString(dir.resolve("k.pem"), "x");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.nio.file.Files.getFileStore(key).supportsFileAttributeView("posix"), "no POSIX permissions here");
    java.nio.file.Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(RelayTls.warnIfReadableByOthers(key)).isTrue();
    java.nio.file.Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
    assertThat(RelayTls.warnIfReadableByOthers(key)).isFalse();
  }

  @Test
  void unusableFilesStopTheStartWithTheMessage() {
    Path cert = dir.resolve("missing.crt");
    assertThatThrownBy(() -> RelayTls.create(TlsSettings.files(cert, dir.resolve("missing.key"))))
        .isInstanceOf(TlsMaterialException.class)
        .hasMessage("relay.tls.cert: " + cert + ": file not found");
  }
}
