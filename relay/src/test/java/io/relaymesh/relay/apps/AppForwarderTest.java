package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.relay.testing.Waits;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AppForwarder} end to end: browser (Vert.x client, HTTP/1.1 or HTTP/2) -> test front ->
 * forwarder -> real relay tunnel -> test agent -> a Vert.x app on 127.0.0.1 that records what it
 * received.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(90)
class AppForwarderTest {

  static final Duration HEAD_TIMEOUT = Duration.ofSeconds(3);

  @TempDir
  static Path dir;
  static AppForwarderFixture fx;
  static AppForwarderFixture.App app;
  static AppForwarderFixture.App tlsApp;
  static final List<Seen> seen = new CopyOnWriteArrayList<>();
  static final AtomicBoolean streamClosed = new AtomicBoolean();

  /** A request as the app saw it. */
  record Seen(String method, String uri, String version, MultiMap headers, Buffer body) {}

  @BeforeAll
  static void start() {
    fx = new AppForwarderFixture(dir, 8, Duration.ofSeconds(30), HEAD_TIMEOUT);
    app = fx.app(false, AppForwarderTest::serve);
    tlsApp = fx.app(true, AppForwarderTest::serve);
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
      tlsApp.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  /** The workspace app: behaviour by path. */
  static void serve(HttpServerRequest req) {
    String path = req.path();
    if (path.equals("/hang")) {
      return; // never answers
    }
    if (path.equals("/die")) {
      req.response().putHeader("content-length", "100000").write(Buffer.buffer("0123456789"));
      fx.vertx.setTimer(200, t -> req.connection().close());
      return;
    }
    if (path.equals("/stream")) {
      req.response().setChunked(true).closeHandler(v -> streamClosed.set(true));
      long[] timer = new long[1];
      timer[0] = fx.vertx.setPeriodic(5, t -> {
        if (streamClosed.get()) {
          fx.vertx.cancelTimer(timer[0]);
          return;
        }
        req.response().write(Buffer.buffer(new byte[4096]));
      });
      return;
    }
    req.body().onSuccess(body -> {
      seen.add(new Seen(req.method().name(), req.uri(), req.version().name(),
          MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), body));
      var resp = req.response().putHeader("x-app-saw-length", String.valueOf(body.length()));
      switch (path) {
        case "/chunked" -> {
          resp.setChunked(true);
          for (int i = 0; i < 5; i++) {
            resp.write("part-" + i + ";");
          }
          resp.end("end");
        }
        case "/head" -> resp.putHeader("content-length", "1234").end();
        case "/nocontent" -> resp.setStatusCode(204).end();
        case "/notmodified" -> resp.setStatusCode(304).putHeader("etag", "\"v1\"").end();
        case "/close" -> resp.putHeader("connection", "close").end("bye");
        case "/hop" -> resp.putHeader("connection", "X-Secret-Hop")
            .putHeader("x-secret-hop", "no").putHeader("keep-alive", "timeout=5")
            .putHeader("proxy-authenticate", "Basic realm=x").putHeader("trailer", "x-t")
            .putHeader("X-Visible", "yes").end("hop");
        default -> resp.end(body.length() > 0 ? body : Buffer.buffer("hello " + req.uri()));
      }
    });
  }

  record Got(int status, MultiMap headers, Buffer body, HttpVersion version) {}

  static Got call(HttpClient c, HttpMethod method, String uri, int port, boolean https,
      Buffer body, String... headers) {
    RequestOptions o = new RequestOptions().setMethod(method).setURI(uri)
        .putHeader("x-app-port", String.valueOf(port))
        .putHeader("x-app-https", String.valueOf(https));
    for (int i = 0; i < headers.length; i += 2) {
      o.addHeader(headers[i], headers[i + 1]);
    }
    return await(c.request(o).compose(r -> body == null ? r.send() : r.send(body))
        .compose(r -> r.body().map(b -> new Got(r.statusCode(), r.headers(), b, r.version()))),
        30);
  }

  static Got get(HttpClient c, String uri) {
    return call(c, HttpMethod.GET, uri, app.port(), false, null);
  }

  static Seen last() {
    return seen.get(seen.size() - 1);
  }

  @Test
  void getAndPostWithBodiesKeepHostAndQuery() {
    HttpClient c = fx.client(false);
    try {
      Got g = get(c, "/hello?x=1&y=%20z");
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.body().toString()).isEqualTo("hello /hello?x=1&y=%20z");
      Seen s = last();
      assertThat(s.method()).isEqualTo("GET");
      assertThat(s.uri()).isEqualTo("/hello?x=1&y=%20z");
      assertThat(s.version()).isEqualTo("HTTP_1_1");
      assertThat(s.headers().get("host")).isEqualTo("127.0.0.1:" + fx.front.actualPort());

      byte[] data = new byte[300_000];
      new Random(1).nextBytes(data);
      Got p = call(c, HttpMethod.POST, "/echo", app.port(), false, Buffer.buffer(data),
          "content-type", "application/octet-stream");
      assertThat(p.status()).isEqualTo(200);
      assertThat(p.body().getBytes()).isEqualTo(data);
      assertThat(last().headers().get("content-length")).isEqualTo("300000");
      assertThat(last().headers().get("content-type")).isEqualTo("application/octet-stream");
    } finally {
      c.close();
    }
  }

  @Test
  void chunkedBodiesBothWays() {
    HttpClient c = fx.client(false);
    try {
      List<String> parts = new ArrayList<>();
      Got g = await(c.request(new RequestOptions().setMethod(HttpMethod.PUT).setURI("/chunked")
              .putHeader("x-app-port", String.valueOf(app.port())))
          .compose(r -> {
            r.setChunked(true);
            for (int i = 0; i < 4; i++) {
              parts.add("chunk" + i);
              r.write("chunk" + i);
            }
            return r.end().compose(v -> r.response());
          })
          .compose(r -> r.body().map(b -> new Got(r.statusCode(), r.headers(), b, r.version()))),
          30);
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.headers().get("transfer-encoding")).isEqualTo("chunked");
      assertThat(g.body().toString()).isEqualTo("part-0;part-1;part-2;part-3;part-4;end");
      Seen s = last();
      assertThat(s.headers().get("transfer-encoding")).isEqualTo("chunked");
      assertThat(s.body().toString()).isEqualTo(String.join("", parts));
    } finally {
      c.close();
    }
  }

  @Test
  void headAndBodylessStatuses() {
    HttpClient c = fx.client(false);
    try {
      Got h = call(c, HttpMethod.HEAD, "/head", app.port(), false, null);
      assertThat(h.status()).isEqualTo(200);
      assertThat(h.headers().get("content-length")).isEqualTo("1234");
      assertThat(h.body().length()).isZero();
      assertThat(last().method()).isEqualTo("HEAD");
      Got n = get(c, "/nocontent");
      assertThat(n.status()).isEqualTo(204);
      assertThat(n.body().length()).isZero();
      Got m = get(c, "/notmodified");
      assertThat(m.status()).isEqualTo(304);
      assertThat(m.headers().get("etag")).isEqualTo("\"v1\"");
      // the same browser connection and upstream connection still work afterwards
      assertThat(get(c, "/after").body().toString()).isEqualTo("hello /after");
    } finally {
      c.close();
    }
  }

  @Test
  void keepAliveReusesOneUpstreamConnectionAndConnectionCloseEndsIt() {
    AppForwarderFixture.App own = fx.app(false, AppForwarderTest::serve);
    HttpClient c = fx.client(false);
    try {
      for (int i = 0; i < 6; i++) {
        Got g = call(c, HttpMethod.GET, "/n" + i, own.port(), false, null);
        assertThat(g.body().toString()).isEqualTo("hello /n" + i);
      }
      assertThat(own.connections().get()).as("TCP connections the app accepted").isEqualTo(1);
      Got bye = call(c, HttpMethod.GET, "/close", own.port(), false, null);
      assertThat(bye.body().toString()).isEqualTo("bye");
      assertThat(call(c, HttpMethod.GET, "/again", own.port(), false, null).status())
          .isEqualTo(200);
      assertThat(own.connections().get()).isEqualTo(2);
      // a browser asking for Connection: close is not reused either
      call(c, HttpMethod.GET, "/x", own.port(), false, null, "connection", "close");
      assertThat(call(c, HttpMethod.GET, "/y", own.port(), false, null).status())
          .isEqualTo(200);
      assertThat(own.connections().get()).isEqualTo(3);
      // the closed connection was logged at the control plane with the app and the port
      String label = own.port() + "--main--dev--alice";
      Waits.until("connection record of " + label, Duration.ofSeconds(20), () -> {
        Resp r = fx.control.http.get("/api/v1/connections", fx.adminToken);
        JsonArray a = r.json().getJsonArray("connections");
        for (int i = 0; i < a.size(); i++) {
          JsonObject rec = a.getJsonObject(i);
          if (label.equals(rec.getString("app")) && rec.getInteger("port") == own.port()
              && "alice".equals(rec.getString("username"))
              && rec.getLong("bytesOut", 0L) > 0) {
            return true;
          }
        }
        return false;
      });
    } finally {
      c.close();
      own.close();
    }
  }

  @Test
  void hopByHopHeadersAreRemovedBothWays() {
    HttpClient c = fx.client(false);
    try {
      Got g = call(c, HttpMethod.GET, "/hop", app.port(), false, null,
          "connection", "keep-alive, X-Drop-Me", "x-drop-me", "1", "keep-alive", "timeout=5",
          "proxy-authorization", "Basic eDp5", "proxy-connection", "keep-alive",
          "te", "trailers", "trailer", "x-t", "upgrade", "foo/1", "x-keep", "yes");
      assertThat(g.status()).isEqualTo(200);
      MultiMap in = last().headers();
      assertThat(in.names()).doesNotContain("x-drop-me", "keep-alive", "proxy-authorization",
          "proxy-connection", "te", "trailer", "upgrade", "X-Drop-Me", "Keep-Alive");
      assertThat(in.get("connection")).isNull();
      assertThat(in.get("x-keep")).isEqualTo("yes");
      assertThat(g.headers().get("x-visible")).isEqualTo("yes");
      assertThat(g.headers().get("x-secret-hop")).isNull();
      assertThat(g.headers().get("keep-alive")).isNull();
      assertThat(g.headers().get("proxy-authenticate")).isNull();
      assertThat(g.headers().get("trailer")).isNull();
      assertThat(g.body().toString()).isEqualTo("hop");
    } finally {
      c.close();
    }
  }

  @Test
  void webSocketEchoPassesThrough() {
    for (boolean https : new boolean[] {false, true}) {
      AppForwarderFixture.App echo = webSocketEcho(https);
      WebSocketClient wc = fx.vertx.createWebSocketClient(new WebSocketClientOptions()
          .setSsl(true).setTrustAll(true).setVerifyHost(false).setMaxFrameSize(1 << 20)
          .setMaxMessageSize(4 << 20));
      try {
        WebSocket ws = await(wc.connect(new WebSocketConnectOptions().setHost("127.0.0.1")
            .setPort(fx.front.actualPort()).setURI("/ws?room=1").setSsl(true)
            .addSubProtocol("echo.v1").putHeader("x-app-port", String.valueOf(echo.port()))
            .putHeader("x-app-https", String.valueOf(https))), 30);
        assertThat(ws.subProtocol()).isEqualTo("echo.v1");
        io.relaymesh.relay.testing.WebSocketEcho.assertEchoesAndCloses(ws, 1_500_000, 7,
            Duration.ofSeconds(20));
      } finally {
        wc.close();
        echo.close();
      }
    }
  }

  static AppForwarderFixture.App webSocketEcho(boolean https) {
    io.vertx.core.http.HttpServerOptions o = new io.vertx.core.http.HttpServerOptions()
        .setHost("127.0.0.1").setPort(0).addWebSocketSubProtocol("echo.v1")
        .setMaxWebSocketFrameSize(1 << 20).setMaxWebSocketMessageSize(4 << 20);
    if (https) {
      o.setSsl(true).setKeyCertOptions(AppForwarderFixture.CERT.keyCertOptions());
    }
    var s = await(fx.vertx.createHttpServer(o)
        .webSocketHandler(ws -> ws.handler(ws::write))
        .requestHandler(r -> r.response().setStatusCode(400).end()).listen());
    return new AppForwarderFixture.App(s, new java.util.concurrent.atomic.AtomicInteger());
  }

  @Test
  void httpsAppIsSpokenToWithTls() {
    HttpClient c = fx.client(false);
    try {
      Got g = call(c, HttpMethod.GET, "/secure", tlsApp.port(), true, null);
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.body().toString()).isEqualTo("hello /secure");
      Got p = call(c, HttpMethod.POST, "/echo", tlsApp.port(), true,
          Buffer.buffer("x".repeat(200_000)));
      assertThat(p.body().length()).isEqualTo(200_000);
      assertThat(tlsApp.connections().get()).isEqualTo(1);
    } finally {
      c.close();
    }
  }

  @Test
  void closedPortIsA502NamingPortWorkspaceAndAgent() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    HttpClient c = fx.client(false);
    try {
      Got g = call(c, HttpMethod.GET, "/", port, false, null);
      assertThat(g.status()).isEqualTo(502);
      assertThat(g.headers().get("x-error-code")).isEqualTo("app_unreachable");
      assertThat(g.body().toString()).startsWith("nothing is listening on port " + port
          + " in workspace alice/dev (agent main): ");
    } finally {
      c.close();
    }
  }

  @Test
  void noResponseHeadIsA504() {
    HttpClient c = fx.client(false);
    try {
      Got g = get(c, "/hang");
      assertThat(g.status()).isEqualTo(504);
      assertThat(g.headers().get("x-error-code")).isEqualTo("upstream_timeout");
      assertThat(g.body().toString()).contains("port " + app.port(), "alice/dev",
          "no response within 3 s");
    } finally {
      c.close();
    }
  }

  @Test
  void garbageAndTlsFailuresAre502s() {
    NetServer garbage = await(fx.vertx.createNetServer().connectHandler(s -> s.handler(b ->
        s.write("SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n"))).listen(0, "127.0.0.1"));
    HttpClient c = fx.client(false);
    try {
      Got g = call(c, HttpMethod.GET, "/", garbage.actualPort(), false, null);
      assertThat(g.status()).isEqualTo(502);
      assertThat(g.headers().get("x-error-code")).isEqualTo("bad_upstream_response");
      Got t = call(c, HttpMethod.GET, "/", app.port(), true, null);
      assertThat(t.status()).isEqualTo(502);
      assertThat(t.headers().get("x-error-code")).isEqualTo("upstream_tls_failed");
      assertThat(t.body().toString()).contains("port " + app.port());
    } finally {
      c.close();
      await(garbage.close());
    }
  }

  @Test
  void http2BrowserRequestsReachTheHttp11App() {
    HttpClient c = fx.client(true);
    try {
      Got g = get(c, "/h2?q=1");
      assertThat(g.version()).isEqualTo(HttpVersion.HTTP_2);
      assertThat(g.status()).isEqualTo(200);
      assertThat(g.body().toString()).isEqualTo("hello /h2?q=1");
      Seen s = last();
      assertThat(s.version()).isEqualTo("HTTP_1_1");
      assertThat(s.headers().get("host")).isEqualTo("127.0.0.1:" + fx.front.actualPort());
      byte[] data = new byte[123_457];
      new Random(3).nextBytes(data);
      Got p = call(c, HttpMethod.POST, "/echo", app.port(), false, Buffer.buffer(data));
      assertThat(p.body().getBytes()).isEqualTo(data);
      Got hop = get(c, "/hop");
      assertThat(hop.headers().get("x-visible")).isEqualTo("yes");
      assertThat(hop.headers().get("x-secret-hop")).isNull();
      Got chunked = get(c, "/chunked");
      assertThat(chunked.body().toString()).isEqualTo("part-0;part-1;part-2;part-3;part-4;end");
    } finally {
      c.close();
    }
  }

  @Test
  void browserGoingAwayCancelsTheUpstream() {
    streamClosed.set(false);
    HttpClient c = fx.client(false);
    try {
      HttpClientResponse r = await(c.request(new RequestOptions().setURI("/stream")
              .putHeader("x-app-port", String.valueOf(app.port())))
          .compose(req -> req.send()), 30);
      assertThat(r.statusCode()).isEqualTo(200);
      Promise<Void> some = Promise.promise();
      long[] n = new long[1];
      r.handler(b -> {
        n[0] += b.length();
        if (n[0] > 100_000) {
          some.tryComplete();
        }
      });
      await(some.future(), 20);
      await(r.request().connection().close(), 10);
      Waits.until("the app saw its response connection closed", Duration.ofSeconds(20),
          streamClosed::get);
    } finally {
      c.close();
    }
  }

  @Test
  void expect100ContinueIsAnsweredAndTheBodyForwarded() {
    HttpClient c = fx.client(false);
    try {
      HttpClientRequest r = await(c.request(new RequestOptions().setMethod(HttpMethod.PUT)
          .setURI("/echo").putHeader("x-app-port", String.valueOf(app.port()))
          .putHeader("expect", "100-continue").putHeader("content-length", "5")), 30);
      Promise<Void> cont = Promise.promise();
      r.continueHandler(v -> cont.tryComplete());
      Future<Buffer> body = r.response().compose(HttpClientResponse::body);
      await(r.sendHead(), 30);
      await(cont.future(), 30);
      r.end("hello");
      assertThat(await(body, 30).toString()).isEqualTo("hello");
      assertThat(last().headers().get("expect")).isNull();
      assertThat(last().body().toString()).isEqualTo("hello");
    } finally {
      c.close();
    }
  }

  @Test
  void appDyingAfterTheHeadResetsTheBrowser() {
    for (boolean http2 : new boolean[] {false, true}) {
      HttpClient c = fx.client(http2);
      try {
        HttpClientResponse r = await(c.request(new RequestOptions().setURI("/die")
                .putHeader("x-app-port", String.valueOf(app.port())))
            .compose(HttpClientRequest::send), 30);
        assertThat(r.statusCode()).isEqualTo(200);
        Throwable e = io.relaymesh.proxy.testutil.Await.failure(r.body());
        assertThat(e).as("HTTP/2: " + http2).isNotNull();
      } finally {
        c.close();
      }
    }
  }

  @Test
  void aClosingTunnelDropsItsIdleConnectionsAndAGoneTunnelIsA502() {
    String bob = fx.control.createUser(fx.adminToken, "bob");
    String token = fx.control.createWorkspace(bob, "gone").getString("agentToken");
    java.util.Set<Long> before = fx.relay.agents().agentIds();
    io.relaymesh.relay.testing.TestAgent other = await(io.relaymesh.relay.testing.TestAgent
        .connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(), token));
    Waits.until("bob's agent registered", Duration.ofSeconds(20),
        () -> fx.relay.agents().agentIds().size() > before.size());
    long id = fx.relay.agents().agentIds().stream().filter(x -> !before.contains(x))
        .findFirst().orElseThrow();
    var tunnel = fx.relay.agents().pick(id);
    AppTarget target = new AppTarget(tunnel, app.port() + "--main--gone--bob", app.port(), false,
        "bob", "bob/gone", "main", "127.0.0.1");
    AppForwarder forwarder = newForwarder(8, Duration.ofSeconds(30));
    HttpServer front = miniFront(forwarder, target);
    // a new browser connection (client) per request: the Vert.x 5.0.7 HTTP client can lose the
    // answer to a second request on a reused keep-alive connection (~1 in 300 under load, also
    // against a trivial Vert.x server; never with a raw socket client). The request after the
    // tunnel closed still goes unanswered about once in three CI runs (passes on the rerun);
    // not understood yet (see the issue 7 note)
    HttpClient c = fx.vertx.createHttpClient();
    HttpClient c2 = fx.vertx.createHttpClient();
    try {
      Got ok = plainGet(c, front);
      assertThat(ok.status()).isEqualTo(200);
      assertThat(forwarder.idleConnections()).isEqualTo(1);
      other.close();
      Waits.until("bob's tunnel closed", Duration.ofSeconds(20), tunnel.session()::isClosed);
      Waits.until("the idle connection over it dropped", Duration.ofSeconds(10),
          () -> forwarder.idleConnections() == 0);
      Got g = plainGet(c2, front);
      assertThat(g.status()).isEqualTo(502);
      assertThat(g.body().toString()).startsWith("agent_not_connected: agent 'main' of"
          + " workspace bob/gone is not connected to this relay");
    } finally {
      c.close();
      c2.close();
      await(front.close());
    }
  }

  static Got plainGet(HttpClient c, HttpServer front) {
    return await(c.request(HttpMethod.GET, front.actualPort(), "127.0.0.1", "/")
        .compose(HttpClientRequest::send)
        .compose(r -> r.body().map(b -> new Got(r.statusCode(), r.headers(), b, r.version()))),
        30);
  }

  static AppForwarder newForwarder(int maxIdle, Duration idleTimeout) {
    return new AppForwarder(fx.vertx, new io.relaymesh.relay.tunnel.Tunnels(
        io.relaymesh.config.TunnelConfig.defaults(),
        new io.relaymesh.relay.metrics.RelayMetrics(() -> true, () -> false)),
        new io.relaymesh.relay.control.Reporter(fx.controlClient, fx.relay.replicaId()),
        maxIdle, idleTimeout);
  }

  @Test
  void aRefusedWebSocketUpgradeIsRelayedAsAPlainResponse() {
    WebSocketClient wc = fx.vertx.createWebSocketClient(new WebSocketClientOptions()
        .setSsl(true).setTrustAll(true).setVerifyHost(false));
    try {
      Throwable e = io.relaymesh.proxy.testutil.Await.failure(wc.connect(
          new WebSocketConnectOptions().setHost("127.0.0.1").setPort(fx.front.actualPort())
              .setURI("/not-a-socket").setSsl(true)
              .putHeader("x-app-port", String.valueOf(app.port()))));
      assertThat(e).isInstanceOf(io.vertx.core.http.UpgradeRejectedException.class);
      assertThat(((io.vertx.core.http.UpgradeRejectedException) e).getStatus()).isEqualTo(200);
      assertThat(last().uri()).isEqualTo("/not-a-socket");
      assertThat(last().headers().get("upgrade")).isEqualTo("websocket");
      assertThat(last().headers().get("sec-websocket-key")).isNotNull();
    } finally {
      wc.close();
    }
  }

  /** A plain HTTP front for {@code forwarder} that always forwards to {@code target}. */
  static HttpServer miniFront(AppForwarder forwarder, AppTarget target) {
    return await(fx.vertx.createHttpServer().requestHandler(req -> {
      req.pause();
      org.slf4j.LoggerFactory.getLogger(AppForwarderTest.class).info("mini front: {} {}",
          req.method(), req.uri());
      forwarder.forward(req, req.uri(), req.headers(), target).onComplete(ar ->
          org.slf4j.LoggerFactory.getLogger(AppForwarderTest.class).info("mini front: {} {}",
              req.uri(), ar.succeeded() ? "done" : ar.cause().toString())).onFailure(e -> {
        AppProxyException ape = (AppProxyException) e;
        // as the relay's error pages do: answered once the request may be (Vert.x keep-alive
        // wedge, see AppPages.whenAnswerable)
        AppPages.whenAnswerable(req, () -> req.response().setStatusCode(ape.status())
            .end(ape.code() + ": " + ape.getMessage()));
      });
    }).listen(0, "127.0.0.1"));
  }

  /**
   * An app that closes its keep-alive connections after a few requests (nginx's
   * keepalive_requests, or its keepalive_timeout racing the next request): half the time with
   * {@code Connection: close} on the last answer, half the time by just closing after it, so a
   * request the relay sends on a pooled connection meets the app's FIN. Under concurrent load
   * every request still gets the app's answer (a fresh connection for one not answered yet).
   */
  @Test
  void anAppClosingKeepAliveConnectionsAfterAFewRequestsLosesNoRequestUnderLoad() {
    java.util.Map<Object, java.util.concurrent.atomic.AtomicInteger> perConnection =
        new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicInteger closes = new java.util.concurrent.atomic.AtomicInteger();
    AppForwarderFixture.App closing = fx.app(false, req -> {
      var connection = req.connection();
      int n = perConnection.computeIfAbsent(connection,
          k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
      if (n < 3) {
        req.response().end("ok " + n);
      } else if (connection.hashCode() % 2 == 0) {
        closes.incrementAndGet();
        req.response().putHeader("Connection", "close").end("ok " + n);
      } else {
        closes.incrementAndGet();
        req.response().end("ok " + n).onComplete(x -> connection.close());
      }
    });
    AppForwarder forwarder = newForwarder(8, Duration.ofSeconds(30));
    HttpServer front = miniFront(forwarder, fx.target(closing.port(), false));
    // the JDK client (keep-alive, its own pool): the Vert.x 5.0.7 client can lose an answer on a
    // reused keep-alive connection (see aClosingTunnel...), and Connection: close from the
    // browser would make the relay not reuse the app connection either
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    java.net.http.HttpClient c = java.net.http.HttpClient.newBuilder().executor(pool)
        .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
    try {
      // 8 browsers in parallel (fewer than the 8 idle connections kept), 30 requests each
      List<String> bad = new CopyOnWriteArrayList<>();
      List<java.util.concurrent.CompletableFuture<Void>> browsers = new ArrayList<>();
      for (int b = 0; b < 8; b++) {
        java.util.concurrent.CompletableFuture<Void> chain =
            java.util.concurrent.CompletableFuture.completedFuture(null);
        for (int i = 0; i < 30; i++) {
          java.net.http.HttpRequest r = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
              "http://127.0.0.1:" + front.actualPort() + "/b" + b + "/r" + i))
              .timeout(Duration.ofSeconds(30)).build();
          chain = chain.thenCompose(x -> c.sendAsync(r,
              java.net.http.HttpResponse.BodyHandlers.ofString())).thenAccept(resp -> {
                if (resp.statusCode() != 200 || !resp.body().startsWith("ok ")) {
                  bad.add(resp.statusCode() + " " + resp.body());
                }
              });
        }
        browsers.add(chain);
      }
      java.util.concurrent.CompletableFuture.allOf(browsers.toArray(
          java.util.concurrent.CompletableFuture[]::new)).get(60,
          java.util.concurrent.TimeUnit.SECONDS);
      assertThat(bad).as("answers other than the app's").isEmpty();
      assertThat(closes).as("the app closed connections under the load; requests per connection: "
          + perConnection.values() + ", connections " + closing.connections()).hasPositiveValue();
      assertThat(closing.connections().get()).as("connections were reused").isLessThan(240 / 2);
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      pool.shutdownNow();
      await(front.close());
      closing.close();
    }
  }

  @Test
  void idleConnectionsAreBoundedAndDroppedAfterTheIdleTimeout() {
    java.util.concurrent.atomic.AtomicInteger closedConnections =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger opened =
        new java.util.concurrent.atomic.AtomicInteger();
    HttpServer slowApp = await(fx.vertx.createHttpServer()
        .connectionHandler(conn -> {
          opened.incrementAndGet();
          conn.closeHandler(v -> closedConnections.incrementAndGet());
        })
        .requestHandler(req -> fx.vertx.setTimer(300, t -> req.response().end("slow")))
        .listen(0, "127.0.0.1"));
    AppForwarder forwarder = newForwarder(1, Duration.ofMillis(1500));
    HttpServer front = miniFront(forwarder, fx.target(slowApp.actualPort(), false));
    HttpClient c = fx.vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions(),
        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(4));
    try {
      List<Future<Buffer>> bodies = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        bodies.add(c.request(HttpMethod.GET, front.actualPort(), "127.0.0.1", "/")
            .compose(HttpClientRequest::send).compose(HttpClientResponse::body));
      }
      for (Future<Buffer> b : bodies) {
        assertThat(await(b, 30).toString()).isEqualTo("slow");
      }
      assertThat(opened.get()).as("three concurrent requests, three connections").isEqualTo(3);
      Waits.until("all but one idle connection closed", Duration.ofSeconds(10),
          () -> closedConnections.get() == 2);
      assertThat(forwarder.idleConnections()).isEqualTo(1);
      Waits.until("the idle connection dropped after the idle timeout", Duration.ofSeconds(10),
          () -> closedConnections.get() == 3 && forwarder.idleConnections() == 0);
    } finally {
      c.close();
      await(front.close());
      await(slowApp.close());
    }
  }
}
