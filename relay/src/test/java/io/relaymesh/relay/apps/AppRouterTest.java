package io.relaymesh.relay.apps;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.relay.apps.AppRouterFixture.Answer;
import io.relaymesh.relay.apps.AppRouterFixture.Seen;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workspace apps through a real relay, control plane and agent (see {@link AppRouterFixture}):
 * routing by host, resolution, who gets in with which credential, what the app sees.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class AppRouterTest {

  static final String HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

  @TempDir
  static Path dir;
  static AppRouterFixture fx;

  @BeforeAll
  static void start() {
    fx = new AppRouterFixture(dir, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    if (fx != null) {
      fx.close();
    }
  }

  static MultiMap headers(String... nameValues) {
    MultiMap m = HttpHeaders.headers();
    for (int i = 0; i < nameValues.length; i += 2) {
      m.add(nameValues[i], nameValues[i + 1]);
    }
    return m;
  }

  static MultiMap bearer(String token) {
    return headers("Authorization", "Bearer " + token);
  }

  private static void assertPage(Answer a, int status, String... contains) {
    assertThat(a.status()).as(a.body()).isEqualTo(status);
    assertThat(a.headers().get("Content-Type")).startsWith("text/html");
    assertThat(a.headers().get("Content-Security-Policy")).contains("default-src 'none'");
    assertThat(a.headers().get("Cache-Control")).isEqualTo("no-store");
    assertThat(a.body()).contains(contains);
  }

  @Test
  void malformedAppNamesAre400PagesSayingWhatIsWrong() {
    int before = fx.seen.size();
    Answer parts = fx.sendRawHost(HttpMethod.GET, "8080--main--dev." + AppRouterFixture.APPS_HOST,
        "/", headers("Accept", HTML), null);
    assertPage(parts, 400, "is not &lt;port&gt;[s]--&lt;agent&gt;--&lt;workspace&gt;--&lt;owner&gt;");
    Answer port = fx.sendRawHost(HttpMethod.GET, "99999--main--dev--alice."
        + AppRouterFixture.APPS_HOST, "/", null, null);
    assertPage(port, 400, "port 99999 is above 65535");
    Answer nested = fx.sendRawHost(HttpMethod.GET, "x.8080--main--dev--alice."
        + AppRouterFixture.APPS_HOST + ":" + fx.relay.port(), "/", null, null);
    assertPage(nested, 400, "is not a single label");
    Answer json = fx.sendRawHost(HttpMethod.GET, "8080--ma_in--dev--alice."
        + AppRouterFixture.APPS_HOST, "/", headers("Accept", "application/json"), null);
    assertThat(json.status()).isEqualTo(400);
    assertThat(json.json().getString("code")).isEqualTo("bad_app_name");
    assertThat(json.json().getString("message")).contains("invalid in an app name");
    assertThat(fx.seen.size()).isEqualTo(before);
  }

  @Test
  void relayEndpointsAreNotReachableUnderAnAppHost() {
    int port = fx.startApp();
    Answer health = fx.send(HttpMethod.GET, fx.host(port), "/healthz", null, null);
    assertThat(health.status()).as(health.body()).isEqualTo(401);
    assertThat(health.body()).doesNotContain("\"ok\"");
    Answer tunnel = fx.send(HttpMethod.GET, fx.host(port), "/api/v1/tunnel/agent", null, null);
    assertThat(tunnel.status()).isEqualTo(401);
    Answer plain = fx.sendRawHost(HttpMethod.GET, "127.0.0.1:" + fx.relay.port(), "/healthz",
        null, null);
    assertThat(plain.status()).isEqualTo(200);
    Answer base = fx.sendRawHost(HttpMethod.GET, AppRouterFixture.APPS_HOST, "/healthz", null,
        null);
    assertThat(base.status()).as("the apps host itself is not an app").isEqualTo(200);
  }

  @Test
  void unknownAppIs404() {
    Answer ws = fx.send(HttpMethod.GET, "8080--main--nope--alice." + AppRouterFixture.APPS_HOST,
        "/", headers("Accept", HTML), null);
    assertPage(ws, 404, "8080--main--nope--alice");
    Answer owner = fx.send(HttpMethod.GET, "8080--main--dev--nobody."
        + AppRouterFixture.APPS_HOST, "/", headers("Accept", "application/json"), null);
    assertThat(owner.status()).isEqualTo(404);
    assertThat(owner.json().getString("code")).isEqualTo("app_not_found");
  }

  @Test
  void agentNotConnectedIs502NamingAgentWorkspaceAndRelay() {
    Answer a = fx.send(HttpMethod.GET, fx.host(8080, "idle"), "/", bearer(fx.alice), null);
    assertPage(a, 502, "agent &#39;main&#39; of workspace alice/idle is not connected to relay eu/"
        + fx.relay.replicaId());
  }

  @Test
  void browserWithoutCredentialsIsSentToTheLoginOthersGet401() {
    int port = fx.startApp();
    String host = fx.host(port) + ":" + fx.relay.port();
    Answer nav = fx.send(HttpMethod.GET, fx.host(port), "/deep/page?q=1&r=2",
        headers("Accept", HTML), null);
    assertThat(nav.status()).as(nav.body()).isEqualTo(302);
    assertThat(nav.headers().get("Location")).isEqualTo(fx.control.server.url()
        + "/apps/auth?host=" + enc(host) + "&path=" + enc("/deep/page?q=1&r=2"));
    Answer api = fx.send(HttpMethod.GET, fx.host(port), "/api/x",
        headers("Accept", "application/json"), null);
    assertThat(api.status()).isEqualTo(401);
    assertThat(api.headers().get("WWW-Authenticate")).isEqualTo("Bearer realm=\"relaymesh\"");
    assertThat(api.json().getString("code")).isEqualTo("unauthenticated");
    assertThat(api.json().getString("message")).contains("Authorization: Bearer");
    Answer post = fx.send(HttpMethod.POST, fx.host(port), "/form", headers("Accept", HTML),
        "a=1");
    assertThat(post.status()).as("a POST is no navigation").isEqualTo(401);
    assertThat(fx.seenBy(port)).isEmpty();
  }

  @Test
  void ownerGetsInWithBearerOrSessionHeaderOthersAreRefused() {
    int port = fx.startApp();
    Answer viaBearer = fx.send(HttpMethod.GET, fx.host(port), "/b", bearer(fx.alice), null);
    assertThat(viaBearer.status()).as(viaBearer.body()).isEqualTo(200);
    assertThat(viaBearer.body()).isEqualTo("hello from the app: GET /b");
    Answer viaHeader = fx.send(HttpMethod.GET, fx.host(port), "/h",
        headers("Relaymesh-Session-Token", fx.alice), null);
    assertThat(viaHeader.status()).isEqualTo(200);
    assertThat(fx.seenBy(port)).hasSize(2);
    for (Seen s : fx.seenBy(port)) {
      assertThat(s.headers().contains("Authorization")).isFalse();
      assertThat(s.headers().contains("Relaymesh-Session-Token")).isFalse();
    }
    Answer bob = fx.send(HttpMethod.GET, fx.host(port), "/b", bearer(fx.bob), null);
    assertPage(bob, 403, "bob");
    Answer bobHeader = fx.send(HttpMethod.GET, fx.host(port), "/h",
        headers("Relaymesh-Session-Token", fx.bob, "Accept", "application/json"), null);
    assertThat(bobHeader.status()).isEqualTo(403);
    assertThat(bobHeader.json().getString("code")).isEqualTo("app_forbidden");
    Answer junk = fx.send(HttpMethod.GET, fx.host(port), "/b",
        bearer("rms_notarealsessiontokennotarealsessiontoken00"), null);
    assertThat(junk.status()).isEqualTo(401);
    assertThat(junk.body()).doesNotContain("rms_notareal");
    assertThat(fx.seenBy(port)).hasSize(2);
  }

  @Test
  void authenticatedShareLetsAnyUserInPublicShareEveryone() {
    int port = fx.startApp();
    fx.share(port, "authenticated");
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/", bearer(fx.bob), null).status())
        .isEqualTo(200);
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/", null, null).status())
        .isEqualTo(401);
    int pub = fx.startApp();
    assertThat(fx.share(pub, "public").getJsonArray("urls").getList())
        .as("the relay registered its apps host with its port")
        .contains("https://" + fx.host(pub) + ":" + fx.relay.port() + "/");
    Answer anon = fx.send(HttpMethod.GET, fx.host(pub), "/anon", headers("Accept", HTML), null);
    assertThat(anon.status()).isEqualTo(200);
    assertThat(anon.body()).isEqualTo("hello from the app: GET /anon");
  }

  @Test
  void theAppSeesNoRelaymeshCredentialsButItsOwnCookiesAndForwardingHeaders() {
    int port = fx.startApp();
    String cookieName = AppAuth.cookieName(fx.host(port));
    Answer a = fx.send(HttpMethod.POST, fx.host(port), "/p?x=1&relaymesh_token=abc&y=%20",
        headers("Authorization", "Bearer " + fx.alice,
            "Relaymesh-Session-Token", fx.alice,
            "Cookie", "theme=dark; " + cookieName + "=garbage; relaymesh_x=1; lang=en",
            "X-Forwarded-For", "203.0.113.9",
            "X-App-Header", "kept"), "body!");
    assertThat(a.status()).as(a.body()).isEqualTo(200);
    assertThat(a.headers().getAll("Set-Cookie")).as("the app's cookie reaches the browser")
        .anyMatch(c -> c.startsWith("appsession=a1"));
    Seen s = fx.lastSeen(port);
    String host = fx.host(port) + ":" + fx.relay.port();
    assertThat(s.uri()).isEqualTo("/p?x=1&y=%20");
    assertThat(s.body()).isEqualTo("body!");
    assertThat(s.headers().getAll("Cookie")).containsExactly("theme=dark; lang=en");
    assertThat(s.headers().contains("Authorization")).isFalse();
    assertThat(s.headers().contains("Relaymesh-Session-Token")).isFalse();
    assertThat(s.headers().get("X-App-Header")).isEqualTo("kept");
    assertThat(s.headers().get("Host")).isEqualTo(host);
    assertThat(s.headers().get("X-Forwarded-For")).isEqualTo("203.0.113.9, 127.0.0.1");
    assertThat(s.headers().get("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(s.headers().get("X-Forwarded-Host")).isEqualTo(host);
    assertThat(s.headers().get("Forwarded"))
        .isEqualTo("for=127.0.0.1;proto=https;host=\"" + host + "\"");
    assertThat(s.headers().toString()).doesNotContain(fx.alice).doesNotContain("garbage");
  }

  @Test
  void nothingUnderDotRelaymeshReachesTheApp() {
    int port = fx.startApp();
    fx.share(port, "public");
    for (String path : new String[] {"/.relaymesh/", "/.relaymesh/anything", "/%2Erelaymesh/x",
        "/.RELAYMESH/callback"}) {
      Answer a = fx.send(HttpMethod.GET, fx.host(port), path, bearer(fx.alice), null);
      assertThat(a.status()).as(path).isEqualTo(404);
    }
    Answer post = fx.send(HttpMethod.POST, fx.host(port), "/.relaymesh/callback?code=x",
        null, "x");
    assertThat(post.status()).isEqualTo(404);
    assertThat(fx.seenBy(port)).isEmpty();
  }

  @Test
  void http2RequestsAreRoutedByAuthority() {
    int port = fx.startApp();
    Answer a = fx.sendH2(HttpMethod.GET, fx.host(port), "/h2?x=1", bearer(fx.alice));
    assertThat(a.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(a.status()).as(a.body()).isEqualTo(200);
    assertThat(a.body()).isEqualTo("hello from the app: GET /h2?x=1");
    Seen s = fx.lastSeen(port);
    assertThat(s.headers().get("X-Forwarded-Host")).isEqualTo(fx.host(port) + ":"
        + fx.relay.port());
    assertThat(s.headers().contains("Authorization")).isFalse();
    Answer bad = fx.sendH2(HttpMethod.GET, "1--x." + AppRouterFixture.APPS_HOST, "/", null);
    assertThat(bad.status()).isEqualTo(400);
  }

  @Test
  void unreachableControlPlaneIs503() throws Exception {
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    io.relaymesh.relay.RelayServer lonely = io.relaymesh.proxy.testutil.Await.await(
        io.relaymesh.relay.RelayServer.start(fx.vertx, io.relaymesh.config.RelayConfig.defaults()
            .withControl("http://127.0.0.1:" + closed, "rmr_x", "eu").withListen("127.0.0.1:0")
            .withAppsHost(AppRouterFixture.APPS_HOST).withTls(io.relaymesh.config.TlsConfig
                .defaults().withStateDir(dir.resolve("lonely-tls")))));
    try {
      io.vertx.core.http.HttpClient c = fx.vertx.createHttpClient(
          new io.vertx.core.http.HttpClientOptions().setSsl(true).setTrustAll(true)
              .setVerifyHost(false));
      try {
        Answer a = io.relaymesh.proxy.testutil.Await.await(c.request(
                new io.vertx.core.http.RequestOptions().setHost("127.0.0.1")
                    .setPort(lonely.port()).setURI("/").putHeader("Host", fx.host(8080))
                    .putHeader("Accept", HTML))
            .compose(r -> r.send()).compose(r -> r.body().map(b -> new Answer(r.statusCode(),
                r.headers(), b.toString(), r.version()))));
        assertPage(a, 503, "cannot reach the control plane", "8080--main--dev--alice");
      } finally {
        c.close();
      }
    } finally {
      lonely.stop();
    }
  }

  @Test
  void webSocketUpgradesPassThroughTheRouterWithoutCredentials() {
    java.util.List<MultiMap> handshakes = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.vertx.core.http.HttpServer echo = io.relaymesh.proxy.testutil.Await.await(fx.vertx
        .createHttpServer(new io.vertx.core.http.HttpServerOptions().setHost("127.0.0.1")
            .setPort(0))
        .webSocketHandler(ws -> {
          handshakes.add(HttpHeaders.headers().addAll(ws.headers()));
          ws.handler(ws::write);
        })
        .requestHandler(r -> r.response().setStatusCode(400).end()).listen());
    io.vertx.core.http.WebSocketClient wc = fx.vertx.createWebSocketClient(
        new io.vertx.core.http.WebSocketClientOptions().setSsl(true).setTrustAll(true)
            .setVerifyHost(false));
    try {
      int port = echo.actualPort();
      io.vertx.core.http.WebSocket ws = io.relaymesh.proxy.testutil.Await.await(wc.connect(
          new io.vertx.core.http.WebSocketConnectOptions().setHost("127.0.0.1")
              .setPort(fx.relay.port()).setSsl(true).setURI("/ws?relaymesh_t=1&room=2")
              .putHeader("Host", fx.host(port) + ":" + fx.relay.port())
              .putHeader("Authorization", "Bearer " + fx.alice)
              .putHeader("Cookie", "app=1; relaymesh_x=2")));
      java.util.List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
      ws.handler(b -> got.add(b.toString())); // the echo app answers in binary frames
      ws.writeTextMessage("ping through the relay");
      io.relaymesh.relay.testing.Waits.until("echo", Duration.ofSeconds(20),
          () -> got.contains("ping through the relay"));
      io.relaymesh.proxy.testutil.Await.await(ws.close());
      assertThat(handshakes).hasSize(1);
      MultiMap h = handshakes.get(0);
      assertThat(h.contains("Authorization")).isFalse();
      assertThat(h.getAll("Cookie")).containsExactly("app=1");
      assertThat(h.get("X-Forwarded-Proto")).isEqualTo("https");
      // without credentials an upgrade is no navigation: 401
      Throwable refused = io.relaymesh.proxy.testutil.Await.failure(wc.connect(
          new io.vertx.core.http.WebSocketConnectOptions().setHost("127.0.0.1")
              .setPort(fx.relay.port()).setSsl(true).setURI("/ws")
              .putHeader("Host", fx.host(port) + ":" + fx.relay.port())));
      assertThat(refused).isInstanceOf(io.vertx.core.http.UpgradeRejectedException.class);
      assertThat(((io.vertx.core.http.UpgradeRejectedException) refused).getStatus())
          .isEqualTo(401);
      assertThat(handshakes).hasSize(1);
    } finally {
      wc.close();
      io.relaymesh.proxy.testutil.Await.await(echo.close());
    }
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
