package io.relaymesh.relay.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.relaymesh.relay.tls.CertificateReloader.Result;
import io.relaymesh.relay.tls.TestPki.Issued;
import io.relaymesh.relay.tls.TestPki.KeyFormat;
import io.relaymesh.relay.tls.TestPki.KeyType;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Certificate rotation on a live server, for both engines. */
@Timeout(60)
class CertificateReloadTest {

  static Vertx vertx;
  static TestPki pki;
  static SSLContext trustRoot;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    pki = new TestPki();
    trustRoot = TlsProbe.trusting(pki.root.cert());
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private RelayTls tls(TlsEngine engine, Path cert, Path key, Duration interval) throws Exception {
    assumeTrue(engine != TlsEngine.OPENSSL || TlsEngine.openSslAvailable(), "OpenSSL engine unavailable here");
    return RelayTls.create(TlsSettings.files(cert, key).withReloadInterval(interval)
        .withEngine(TlsEngine.Preference.valueOf(engine.name())));
  }

  /** Replaces {@code target} the way deploy tools do: write aside, then rename over. */
  private static void replace(Path target, String content) throws Exception {
    Path tmp = target.resolveSibling(target.getFileName() + ".new");
    Files.writeString(tmp, content);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String fingerprintOfNewConnection(int port) throws Exception {
    try (SSLSocket s = TlsProbe.connect(trustRoot, port, null, null)) {
      return TlsProbe.peerFingerprint(s);
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void newConnectionsGetTheNewCertificateOpenOnesKeepWorking(TlsEngine engine) throws Exception {
    Issued a = pki.leaf(KeyType.EC, "a.test");
    Issued b = pki.leaf(KeyType.RSA, "b.test");
    Path[] files = TestPki.writePair(dir, "server", a, KeyFormat.PKCS8, a.cert(), pki.intermediate.cert());
    // a long interval: this test drives the checks itself
    try (TestServer server = new TestServer(vertx, tls(engine, files[0], files[1], Duration.ofHours(1)));
        SSLSocket open = TlsProbe.connect(trustRoot, server.port(), null, null)) {
      String fpA = PemMaterial.fingerprint(a.cert());
      String fpB = PemMaterial.fingerprint(b.cert());
      assertThat(TlsProbe.peerFingerprint(open)).isEqualTo(fpA);
      assertThat(TlsProbe.get(open, "/")).startsWith("HTTP/1.1 200");
      assertThat(check(server)).isEqualTo(Result.UNCHANGED);

      replace(files[1], TestPki.keyPem(b.keys().getPrivate(), KeyFormat.TRADITIONAL));
      replace(files[0], TestPki.pem(b.cert(), pki.intermediate.cert()));

      assertThat(check(server)).isEqualTo(Result.RELOADED);
      assertThat(server.reloader.current().sha256Fingerprint()).isEqualTo(fpB);
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(fpB);
      // the connection opened before the reload still works, on its original certificate
      assertThat(TlsProbe.get(open, "/")).startsWith("HTTP/1.1 200");
      assertThat(TlsProbe.peerFingerprint(open)).isEqualTo(fpA);
      // the policy and ALPN survive the reload
      try (SSLSocket h2 = TlsProbe.connect(trustRoot, server.port(), null, null, "h2", "http/1.1")) {
        assertThat(h2.getApplicationProtocol()).isEqualTo("h2");
      }
      assertThatThrownBy(() -> TlsProbe.connect(trustRoot, server.port(), new String[] {"TLSv1.2"},
          new String[] {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"}).close()).isInstanceOf(SSLHandshakeException.class);
      assertThat(check(server)).isEqualTo(Result.UNCHANGED);
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void brokenOrMismatchedFilesKeepTheCurrentCertificate(TlsEngine engine) throws Exception {
    Issued a = pki.leaf(KeyType.EC, "a.test");
    Issued c = pki.leaf(KeyType.EC, "c.test");
    Path[] files = TestPki.writePair(dir, "server", a, KeyFormat.TRADITIONAL, a.cert(), pki.intermediate.cert());
    try (TestServer server = new TestServer(vertx, tls(engine, files[0], files[1], Duration.ofHours(1)))) {
      String fpA = PemMaterial.fingerprint(a.cert());
      String originalKey = Files.readString(files[1]);

      replace(files[1], "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");
      assertThat(check(server)).isEqualTo(Result.FAILED);
      assertThat(server.reloader.lastError()).startsWith("relay.tls.key: " + files[1] + ": ");
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(fpA);

      // put back as it was: nothing to reload, nothing wrong
      replace(files[1], originalKey);
      assertThat(check(server)).isEqualTo(Result.UNCHANGED);
      assertThat(server.reloader.lastError()).isNull();

      // half-way through a rotation: new certificate, old key
      replace(files[1], TestPki.keyPem(a.keys().getPrivate(), KeyFormat.PKCS8));
      replace(files[0], TestPki.pem(c.cert(), pki.intermediate.cert()));
      assertThat(check(server)).isEqualTo(Result.FAILED);
      assertThat(server.reloader.lastError()).contains("does not match");
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(fpA);

      // the rotation completes
      replace(files[1], TestPki.keyPem(c.keys().getPrivate(), KeyFormat.PKCS8));
      assertThat(check(server)).isEqualTo(Result.RELOADED);
      assertThat(server.reloader.lastError()).isNull();
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(PemMaterial.fingerprint(c.cert()));

      Files.delete(files[0]);
      assertThat(check(server)).isEqualTo(Result.FAILED);
      assertThat(server.reloader.lastError()).isEqualTo("relay.tls.cert: " + files[0] + ": file not found");
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(PemMaterial.fingerprint(c.cert()));
    }
  }

  @ParameterizedTest(name = "{0} engine")
  @EnumSource(TlsEngine.class)
  void timerPicksUpChangedFiles(TlsEngine engine) throws Exception {
    Issued a = pki.leaf(KeyType.EC, "a.test");
    Issued b = pki.leaf(KeyType.EC, "b.test");
    Path[] files = TestPki.writePair(dir, "server", a, KeyFormat.PKCS8, a.cert(), pki.intermediate.cert());
    try (TestServer server = new TestServer(vertx, tls(engine, files[0], files[1], Duration.ofMillis(100)))) {
      assertThat(fingerprintOfNewConnection(server.port())).isEqualTo(PemMaterial.fingerprint(a.cert()));

      replace(files[1], TestPki.keyPem(b.keys().getPrivate(), KeyFormat.PKCS8));
      replace(files[0], TestPki.pem(b.cert(), pki.intermediate.cert()));

      String want = PemMaterial.fingerprint(b.cert());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      String seen = null;
      while (System.nanoTime() < deadline && !want.equals(seen)) {
        Thread.sleep(50);
        seen = fingerprintOfNewConnection(server.port());
      }
      assertThat(seen).as("certificate served within 20 s of the change").isEqualTo(want);
    }
  }

  @org.junit.jupiter.api.Test
  void everyCheckAfterAChangeSeesIt() throws Exception {
    Issued a = pki.leaf(KeyType.EC, "a.test");
    Issued b = pki.leaf(KeyType.EC, "b.test");
    Path[] files = TestPki.writePair(dir, "server", a, KeyFormat.PKCS8, a.cert());
    RelayTls tls = RelayTls.create(TlsSettings.files(files[0], files[1]).withReloadInterval(Duration.ofHours(1)));
    try (CertificateReloader reloader = tls.watch(vertx)) {
      for (int i = 0; i < 50; i++) {
        Issued next = i % 2 == 0 ? b : a;
        assertThat(reloader.check().await(10, TimeUnit.SECONDS)).isEqualTo(Result.UNCHANGED);
        replace(files[1], TestPki.keyPem(next.keys().getPrivate(), KeyFormat.PKCS8));
        replace(files[0], TestPki.pem(next.cert()));
        assertThat(reloader.check().await(10, TimeUnit.SECONDS)).as("round %d", i).isEqualTo(Result.RELOADED);
        assertThat(reloader.current().leaf()).isEqualTo(next.cert());
      }
    }
  }

  private static Result check(TestServer server) throws Exception {
    return server.reloader.check().await(10, TimeUnit.SECONDS);
  }
}
