package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.relaymesh.relay.tls.TestPki.Issued;
import io.relaymesh.relay.tls.TestPki.KeyFormat;
import io.relaymesh.relay.tls.TestPki.KeyType;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** A real HTTPS server per engine and certificate type, probed by JDK and OpenSSL clients. */
@Timeout(60)
class TlsServerTest {

  static Vertx vertx;
  static TestPki pki;
  static Issued rsaLeaf;
  static Issued ecLeaf;
  static SSLContext trustRoot;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    pki = new TestPki();
    rsaLeaf = pki.leaf(KeyType.RSA, "rsa.test");
    ecLeaf = pki.leaf(KeyType.EC, "ec.test");
    trustRoot = TlsProbe.trusting(pki.root.cert());
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  static Stream<Arguments> engineAndKey() {
    List<Arguments> out = new ArrayList<>();
    for (TlsEngine e : TlsEngine.values()) {
      for (KeyType k : KeyType.values()) {
        out.add(Arguments.of(e, k));
      }
    }
    return out.stream();
  }

  private TestServer server(TlsEngine engine, KeyType keyType) throws Exception {
    assumeTrue(engine != TlsEngine.OPENSSL || TlsEngine.openSslAvailable(),
        "OpenSSL engine unavailable here: " + io.netty.handler.ssl.OpenSsl.unavailabilityCause());
    Issued leaf = keyType == KeyType.RSA ? rsaLeaf : ecLeaf;
    Path[] files = TestPki.writePair(dir, "server", leaf, keyType == KeyType.RSA ? KeyFormat.TRADITIONAL : KeyFormat.PKCS8,
        leaf.cert(), pki.intermediate.cert());
    RelayTls tls = RelayTls.create(TlsSettings.files(files[0], files[1])
        .withEngine(TlsEngine.Preference.valueOf(engine.name())));
    assertThat(tls.engine()).isEqualTo(engine);
    return new TestServer(vertx, tls);
  }

  private static String sessionClassFragment(TlsEngine engine) {
    return engine == TlsEngine.OPENSSL ? "OpenSsl" : "sun.security.ssl";
  }

  @ParameterizedTest(name = "{0} engine, {1} certificate")
  @MethodSource("engineAndKey")
  void tls13HandshakeServesTheChainAndHttp(TlsEngine engine, KeyType keyType) throws Exception {
    try (TestServer server = server(engine, keyType);
        SSLSocket s = TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.3"}, null)) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
      assertThat(TlsPolicy.TLS13_CIPHER_SUITES).contains(s.getSession().getCipherSuite());
      assertThat(s.getSession().getPeerCertificates()).hasSize(2);
      Issued leaf = keyType == KeyType.RSA ? rsaLeaf : ecLeaf;
      assertThat(TlsProbe.peerFingerprint(s)).isEqualTo(PemMaterial.fingerprint(leaf.cert()));

      String response = TlsProbe.get(s, "/");

      assertThat(response).startsWith("HTTP/1.1 200").contains("protocol=TLSv1.3").contains("http=HTTP_1_1")
          .contains(sessionClassFragment(engine));
    }
  }

  @ParameterizedTest(name = "{0} engine, {1} certificate")
  @MethodSource("engineAndKey")
  void tls12NegotiatesEachForwardSecretAeadSuite(TlsEngine engine, KeyType keyType) throws Exception {
    String auth = keyType == KeyType.RSA ? "_ECDHE_RSA_" : "_ECDHE_ECDSA_";
    List<String> suites = TlsPolicy.TLS12_CIPHER_SUITES.stream().filter(c -> c.contains(auth)).toList();
    assertThat(suites).hasSize(3);
    try (TestServer server = server(engine, keyType)) {
      // the JDK client's default offer includes CBC and static-RSA suites: the server picks from its list
      try (SSLSocket s = TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.2"}, null)) {
        assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.2");
        assertThat(suites).contains(s.getSession().getCipherSuite());
        assertThat(TlsProbe.get(s, "/")).contains("protocol=TLSv1.2").contains(sessionClassFragment(engine));
      }
      for (String suite : suites) {
        try (SSLSocket s = TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.2"}, new String[] {suite})) {
          assertThat(s.getSession().getCipherSuite()).isEqualTo(suite);
          assertThat(TlsProbe.get(s, "/")).contains("cipher=" + suite);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} engine, {1} certificate")
  @MethodSource("engineAndKey")
  void tls12WithoutForwardSecrecyOrAeadIsRefused(TlsEngine engine, KeyType keyType) throws Exception {
    String auth = keyType == KeyType.RSA ? "RSA" : "ECDSA";
    List<String> weak = new ArrayList<>(List.of(
        "TLS_ECDHE_" + auth + "_WITH_AES_128_CBC_SHA256", // forward secret, not AEAD
        "TLS_ECDHE_" + auth + "_WITH_AES_128_CBC_SHA"));
    if (keyType == KeyType.RSA) {
      weak.add("TLS_RSA_WITH_AES_128_GCM_SHA256"); // AEAD, no forward secrecy
      weak.add("TLS_RSA_WITH_AES_128_CBC_SHA");
      weak.add("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"); // finite-field DHE
    }
    try (TestServer server = server(engine, keyType)) {
      for (String suite : weak) {
        assertThatThrownBy(() -> TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.2"}, new String[] {suite}).close())
            .as(suite)
            .isInstanceOf(SSLHandshakeException.class)
            // refused by the server, not by the client's own configuration
            .satisfies(e -> assertThat(e.getMessage()).containsAnyOf("Received fatal alert", "terminated the handshake"));
      }
      // control: the same client with a suite from the policy gets through
      String good = "TLS_ECDHE_" + auth + "_WITH_AES_128_GCM_SHA256";
      TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.2"}, new String[] {good}).close();
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void alpnNegotiatesHttp2(TlsEngine engine) throws Exception {
    try (TestServer server = server(engine, KeyType.EC);
        SSLSocket s = TlsProbe.connect(trustRoot, server.port(), null, null, "h2", "http/1.1")) {
      assertThat(s.getApplicationProtocol()).isEqualTo("h2");
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void vertxClientGetsAnHttp2Response(TlsEngine engine) throws Exception {
    try (TestServer server = server(engine, KeyType.EC)) {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions()
          .setSsl(true).setUseAlpn(true).setVerifyHost(true)
          .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2)
          .setTrustOptions(new io.vertx.core.net.PemTrustOptions()
              .addCertValue(io.vertx.core.buffer.Buffer.buffer(TestPki.pem(pki.root.cert())))));
      try {
        String body = client.request(io.vertx.core.http.HttpMethod.GET, server.port(), "127.0.0.1", "/")
            .compose(req -> req.send())
            .compose(resp -> {
              assertThat(resp.version()).isEqualTo(io.vertx.core.http.HttpVersion.HTTP_2);
              return resp.body();
            })
            .await(10, java.util.concurrent.TimeUnit.SECONDS).toString();
        assertThat(body).contains("http=HTTP_2").contains(sessionClassFragment(engine));
      } finally {
        client.close().await(10, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void opensslClientOldProtocolsAndWeakCiphersFail(TlsEngine engine) throws Exception {
    assumeTrue(OpensslCli.available(), "openssl CLI not installed (apt-get install openssl); skipping s_client checks");
    try (TestServer server = server(engine, KeyType.RSA)) {
      String target = "127.0.0.1:" + server.port();
      // controls: what the policy allows succeeds with this very client
      assertHandshake(sClient(target, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"), "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
      assertHandshake(sClient(target, "-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"), "TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305");
      assertHandshake(sClient(target, "-tls1_3"), "TLSv1.3", "TLS_");
      // old protocols; @SECLEVEL=0 so that the client really offers them
      for (String old : List.of("-tls1", "-tls1_1")) {
        assertRefused(sClient(target, old, "-cipher", "DEFAULT:@SECLEVEL=0"), old);
      }
      // weak TLS 1.2 suites: CBC (with and without ECDHE), static RSA key exchange, finite-field DHE, 3DES
      for (String cipher : List.of("AES128-SHA", "AES256-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384",
          "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", "DES-CBC3-SHA")) {
        assertRefused(sClient(target, "-tls1_2", "-cipher", cipher + ":@SECLEVEL=0"), cipher);
      }
    }
  }

  private static OpensslCli.Run sClient(String target, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("s_client", "-connect", target, "-servername", "localhost", "-brief"));
    cmd.addAll(List.of(args));
    return OpensslCli.run("", cmd.toArray(String[]::new));
  }

  private static void assertHandshake(OpensslCli.Run run, String protocol, String cipher) {
    assertThat(run.output()).as(run.output()).contains("Protocol version: " + protocol).contains("Ciphersuite: " + cipher);
  }

  private static void assertRefused(OpensslCli.Run run, String what) {
    assertThat(run.output()).as(what + ":\n" + run.output()).doesNotContain("Protocol version:").doesNotContain("Ciphersuite:");
    assertThat(run.exit()).as(what + ":\n" + run.output()).isNotZero();
    // the server answered: an alert or a closed connection, not a client-side "no ciphers available"
    assertThat(run.output()).as(what + ":\n" + run.output()).doesNotContain("no ciphers available").doesNotContain("no protocols available");
  }

  @Test
  @EnabledOnOs(value = OS.LINUX, architectures = {"amd64", "aarch64"})
  void openSslEngineIsAvailableWhereItsNativeLibraryShips() {
    assertThat(TlsEngine.openSslAvailable()).as("netty-tcnative-boringssl-static: %s",
        io.netty.handler.ssl.OpenSsl.unavailabilityCause()).isTrue();
    assertThat(TlsEngine.select(TlsEngine.Preference.AUTO)).isEqualTo(TlsEngine.OPENSSL);
    assertThat(TlsEngine.OPENSSL.description()).startsWith("openssl (BoringSSL");
    assertThat(TlsEngine.select(TlsEngine.Preference.JDK)).isEqualTo(TlsEngine.JDK);
  }

  @Test
  void selfSignedCertificateServesAndSurvivesARestart() throws Exception {
    TlsSettings settings = TlsSettings.selfSigned(dir.resolve("state"), List.of("relay.test"));
    RelayTls first = RelayTls.create(settings);
    String fingerprint;
    try (TestServer server = new TestServer(vertx, first);
        SSLSocket s = TlsProbe.connect(TlsProbe.trusting(first.material().leaf()), server.port(), null, null)) {
      fingerprint = TlsProbe.peerFingerprint(s);
      assertThat(fingerprint).isEqualTo(first.material().sha256Fingerprint());
      assertThat(TlsProbe.get(s, "/")).startsWith("HTTP/1.1 200");
      assertThat(server.reloader.watching()).isFalse();
    }
    RelayTls second = RelayTls.create(settings);
    try (TestServer server = new TestServer(vertx, second);
        // a client that pinned the first certificate still connects
        SSLSocket s = TlsProbe.connect(TlsProbe.trusting(first.material().leaf()), server.port(), null, null)) {
      assertThat(TlsProbe.peerFingerprint(s)).isEqualTo(fingerprint);
    }
  }
}
