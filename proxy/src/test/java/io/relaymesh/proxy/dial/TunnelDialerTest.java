package io.relaymesh.proxy.dial;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.testutil.ConnectProxy;
import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.NetServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link TunnelDialer} against a real TLS WebSocket endpoint and a real CONNECT proxy, port 0. */
@Timeout(60)
class TunnelDialerTest {
  static Vertx vertx;
  static TestCerts certs;
  static TestRelayServer relay;
  static final Map<String, String> GOOD = Map.of("Authorization", "Bearer good");

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Transports.create(new VertxOptions());
    certs = TestCerts.create(dir, "relay");
    relay = new TestRelayServer(vertx, certs, true);
  }

  @AfterAll
  static void stop() {
    relay.close();
    await(vertx.close());
  }

  static DialOptions pinned() {
    return DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pinnedSha256(TrustSpec.sha256Fingerprint(certs.cert)));
  }

  static DialedTunnel dialOk(DialOptions options, String url) {
    DialedTunnel t = await(TunnelDialer.create(vertx, options).dial(url, GOOD));
    assertThat(t.session().role()).isEqualTo(io.relaymesh.proxy.session.Role.CLIENT);
    assertThat(await(t.session().ping())).isPositive(); // the session works end to end
    return t;
  }

  @Test
  void pinnedFingerprintAcceptsTheRelayCertificate() {
    int before = relay.sessions.size();
    DialedTunnel t = dialOk(pinned(), relay.url("127.0.0.1"));
    assertThat(t.proxied()).isFalse();
    assertThat(t.url()).isEqualTo("wss://127.0.0.1:" + relay.port() + "/tunnel");
    assertThat(relay.sessions).hasSize(before + 1);
    assertThat(t.replica()).isNull(); // the server named no replica
    await(t.session().close(ErrorCode.NO_ERROR, "done"));
  }

  @Test
  void upgradeAnswerHeadersAreKept() {
    relay.replica = "eu/eu-7";
    try {
      DialedTunnel t = dialOk(pinned(), relay.url("127.0.0.1"));
      assertThat(t.replica()).isEqualTo("eu/eu-7");
      assertThat(t.upgradeHeaders().get("RELAYMESH-REPLICA")).isEqualTo("eu/eu-7");
      assertThat(t.upgradeHeaders().get("Sec-WebSocket-Protocol")).isEqualTo("relaymesh.v1");
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    } finally {
      relay.replica = null;
    }
  }

  @Test
  void pinnedFingerprintRefusesAnotherCertificate(@TempDir Path dir) throws Exception {
    TestCerts other = TestCerts.create(dir, "other");
    DialOptions options = DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pinnedSha256("SHA256:" + TrustSpec.sha256Fingerprint(other.cert).toUpperCase()));
    Throwable e = failure(TunnelDialer.create(vertx, options).dial(relay.url("127.0.0.1"), GOOD));
    assertThat(e).isInstanceOf(DialException.class);
    assertThat(e.getMessage())
        .startsWith("wss://127.0.0.1:" + relay.port() + "/tunnel: TLS handshake failed")
        .contains("fingerprint mismatch")
        .contains(TrustSpec.sha256Fingerprint(certs.cert));
  }

  @Test
  void pemFileTrustVerifiesChainAndHostName() {
    DialOptions pem = DialOptions.defaults().withProxy(null).withTrust(TrustSpec.pemFile(certs.certPem));
    DialedTunnel t = dialOk(pem, relay.url("127.0.0.1"));
    await(t.session().close(ErrorCode.NO_ERROR, "done"));
    // the self-signed certificate is not in the system trust store
    Throwable e = failure(TunnelDialer.create(vertx, DialOptions.defaults().withProxy(null))
        .dial(relay.url("127.0.0.1"), GOOD));
    assertThat(e.getMessage()).contains("TLS handshake failed");
  }

  @Test
  void refusedUpgradeNamesUrlStatusAndServerMessage() {
    Throwable e = failure(TunnelDialer.create(vertx, pinned())
        .dial(relay.url("127.0.0.1"), Map.of("Authorization", "Bearer bad")));
    assertThat(e).isInstanceOf(DialException.class);
    DialException d = (DialException) e;
    assertThat(d.status()).isEqualTo(401);
    assertThat(d.code()).isEqualTo("unauthenticated");
    assertThat(d.serverMessage()).isEqualTo("agent token is not valid");
    assertThat(d.getMessage()).isEqualTo("wss://127.0.0.1:" + relay.port()
        + "/tunnel: HTTP 401 unauthenticated: agent token is not valid");
  }

  @Test
  void serverWithoutTheSubprotocolIsRefused() {
    try (TestRelayServer wrong = new TestRelayServer(vertx, certs, false)) {
      Throwable e = failure(TunnelDialer.create(vertx, pinned()).dial(wrong.url("127.0.0.1"), GOOD));
      assertThat(e.getMessage()).contains("relaymesh.v1");
    }
  }

  @Test
  void closedPortAndBadUrlsAreNamed() {
    NetServer s = await(vertx.createNetServer().connectHandler(so -> { }).listen(0, "127.0.0.1"));
    int port = s.actualPort();
    await(s.close());
    Throwable e = failure(TunnelDialer.create(vertx, pinned()).dial("wss://127.0.0.1:" + port + "/x", GOOD));
    assertThat(e.getMessage()).startsWith("wss://127.0.0.1:" + port + "/x: cannot connect");
    assertThat(failure(TunnelDialer.create(vertx, pinned()).dial("http://127.0.0.1:1/x", GOOD)).getMessage())
        .contains("TLS only");
  }

  @Test
  void httpsProxyCarriesTheTunnelThroughConnect() {
    try (ConnectProxy proxy = new ConnectProxy(vertx)) {
      ProxySettings env = ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://127.0.0.1:" + proxy.port()));
      DialedTunnel t = dialOk(pinned().withProxy(env), relay.url("127.0.0.1"));
      assertThat(t.proxied()).isTrue();
      assertThat(proxy.connects).containsExactly("127.0.0.1:" + relay.port());
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    }
  }

  @Test
  void noProxyBypassesTheProxy() {
    try (ConnectProxy proxy = new ConnectProxy(vertx)) {
      ProxySettings env = ProxySettings.fromEnvironment(Map.of(
          "https_proxy", "127.0.0.1:" + proxy.port(), "NO_PROXY", "example.com, 127.0.0.0/8"));
      DialedTunnel t = dialOk(pinned().withProxy(env), relay.url("127.0.0.1"));
      assertThat(t.proxied()).isFalse();
      assertThat(proxy.connects).isEmpty();
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    }
  }

  @Test
  void proxyThatRefusesIsReported() {
    // a proxy that cannot reach the target answers 502
    NetServer s = await(vertx.createNetServer().connectHandler(so -> { }).listen(0, "127.0.0.1"));
    int closedPort = s.actualPort();
    await(s.close());
    try (ConnectProxy proxy = new ConnectProxy(vertx)) {
      DialOptions o = pinned().withProxy(ProxySettings.of("127.0.0.1", proxy.port(), java.util.List.of()))
          .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5));
      Throwable e = failure(TunnelDialer.create(vertx, o).dial("wss://127.0.0.1:" + closedPort + "/t", GOOD));
      assertThat(e.getMessage()).startsWith("wss://127.0.0.1:" + closedPort + "/t: ").contains("502");
      assertThat(proxy.connects).containsExactly("127.0.0.1:" + closedPort);
    }
  }
}
