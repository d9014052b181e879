package io.relaymesh.proxy.dial;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.testutil.ConnectProxy;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.PemTrustOptions;
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

  // ---- unmasked client frames (WireSpec.UNMASKED_FRAMES_HEADER) and TCP_NOTSENT_LOWAT ----

  /** Opens a stream from the server session and echoes 300 KiB through it, checking the bytes. */
  static void bulkEcho(TestRelayServer relay, DialedTunnel t) {
    t.session().openHandler(s -> s.accept().onSuccess(x -> s.pipeTo(s)));
    Session server = relay.sessions.get(relay.sessions.size() - 1);
    byte[] bytes = new byte[300 * 1024];
    new java.util.Random(7).nextBytes(bytes);
    Buffer sent = Buffer.buffer(bytes);
    Promise<Buffer> back = Promise.promise();
    server.context().runOnContext(v -> server.open(WireSpec.KIND_TCP, "127.0.0.1:1", null)
        .onFailure(back::tryFail)
        .onSuccess(s -> {
          Buffer got = Buffer.buffer();
          s.handler(b -> {
            got.appendBuffer(b);
            if (got.length() == sent.length()) {
              back.tryComplete(got);
            }
          });
          s.write(sent);
        }));
    assertThat(await(back.future())).isEqualTo(sent);
  }

  @Test
  void aRelayThatAcceptsGetsUnmaskedFramesAndTheTunnelWorks() {
    try (TestRelayServer relay = new TestRelayServer(vertx, certs, true,
        TestRelayServer.Unmasked.ACCEPT)) {
      DialedTunnel t = await(TunnelDialer.create(vertx, pinned()).dial(relay.url("127.0.0.1"), GOOD));
      assertThat(t.upgradeHeaders().get(WireSpec.UNMASKED_FRAMES_HEADER)).isEqualTo("1");
      assertThat(await(t.session().ping())).isPositive();
      bulkEcho(relay, t);
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    }
  }

  @Test
  void aRelayThatIgnoresTheOfferStillGetsMaskedFrames() {
    // the server rejects unmasked frames: a working tunnel shows the client kept masking
    try (TestRelayServer relay = new TestRelayServer(vertx, certs, true,
        TestRelayServer.Unmasked.IGNORE)) {
      DialedTunnel t = await(TunnelDialer.create(vertx, pinned()).dial(relay.url("127.0.0.1"), GOOD));
      assertThat(t.upgradeHeaders().get(WireSpec.UNMASKED_FRAMES_HEADER)).isNull();
      assertThat(await(t.session().ping())).isPositive();
      bulkEcho(relay, t);
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    }
  }

  @Test
  void theClientReallyStopsMaskingWhenTheServerSaysItAccepts() {
    // a server that answers the offer but rejects unmasked frames breaks the tunnel: so the
    // accepting case above really ran unmasked
    try (TestRelayServer relay = new TestRelayServer(vertx, certs, true,
        TestRelayServer.Unmasked.LIE)) {
      Future<Long> pinged = TunnelDialer.create(vertx, pinned()).dial(relay.url("127.0.0.1"), GOOD)
          .compose(t -> t.session().ping());
      assertThatThrownBy(() -> await(pinged)).isNotNull();
    }
  }

  @Test
  void aStandardMaskingClientIsStillAcceptedByAnAcceptingServer() {
    try (TestRelayServer relay = new TestRelayServer(vertx, certs, true,
        TestRelayServer.Unmasked.ACCEPT)) {
      // a plain Vert.x client (masks every frame) that does not offer: the session still works
      io.vertx.core.http.WebSocketClient client = vertx.createWebSocketClient(
          new WebSocketClientOptions().setSsl(true).setVerifyHost(false)
              .setTrustOptions(new PemTrustOptions().addCertPath(certs.certPem.toString())));
      try {
        WebSocketConnectOptions connect = new WebSocketConnectOptions()
            .setHost("127.0.0.1").setPort(relay.port()).setURI("/tunnel").setSsl(true)
            .addSubProtocol(WireSpec.SUBPROTOCOL).putHeader("Authorization", "Bearer good");
        // the session takes the WebSocket over in the connect callback, before any frame is read
        Session s = await(Future.<Session>future(p -> vertx.getOrCreateContext().runOnContext(v ->
            client.connect(connect).<Session>compose(ws -> {
              assertThat(ws.headers().get(WireSpec.UNMASKED_FRAMES_HEADER)).isNull();
              Session c = Session.create(Vertx.currentContext(),
                  io.relaymesh.proxy.transport.WebSocketTransport.of(ws),
                  io.relaymesh.proxy.session.Role.CLIENT,
                  io.relaymesh.config.TunnelConfig.defaults(),
                  io.relaymesh.proxy.session.SessionMetrics.NOOP);
              return c.ready().map(c);
            }).onComplete(p))));
        assertThat(await(s.ping())).isPositive();
        await(s.close(ErrorCode.NO_ERROR, "done"));
      } finally {
        await(client.close());
      }
    }
  }

  @Test
  void dialedTunnelSocketsLimitTheirUnsentBytesOnEpoll() {
    try (TestRelayServer relay = new TestRelayServer(vertx, certs, true,
        TestRelayServer.Unmasked.ACCEPT)) {
      DialedTunnel t = await(TunnelDialer.create(vertx, pinned()).dial(relay.url("127.0.0.1"), GOOD));
      io.netty.channel.Channel ch = ((io.vertx.core.internal.http.WebSocketInternal) t.webSocket())
          .channelHandlerContext().channel();
      String name = "io.netty.channel.epoll.EpollChannelOption#TCP_NOTSENT_LOWAT";
      if (vertx.isNativeTransportEnabled() && io.netty.channel.ChannelOption.exists(name)) {
        Object lowat = ch.config().getOption(io.netty.channel.ChannelOption.valueOf(name));
        assertThat(lowat)
            .isEqualTo(io.relaymesh.proxy.transport.WebSocketTransport.NOTSENT_LOWAT);
      } else { // nio: nothing to set, and nothing breaks
        assertThat(io.relaymesh.proxy.transport.WebSocketTransport.limitUnsentBytes(t.webSocket()))
            .isFalse();
      }
      assertThat(await(t.session().ping())).isPositive();
      await(t.session().close(ErrorCode.NO_ERROR, "done"));
    }
  }
}
