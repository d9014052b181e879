package io.relaymesh.relay.apps;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.relay.apps.AppRouterFixture.Answer;
import io.relaymesh.relay.apps.AppRouterFixture.Seen;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
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
 * The browser flow of workspace apps through a real relay and control plane (app tokens live
 * {@value #TTL_SECONDS} s, the control plane's minimum): the callback turns a handoff code into
 * the app cookie and redirects only to local paths; the cookie is refreshed after it expires and
 * stops working when the session is revoked.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class AppRouterCookieTest {

  static final int TTL_SECONDS = 10;
  static final String HTML = AppRouterTest.HTML;

  @TempDir
  static Path dir;
  static AppRouterFixture fx;

  @BeforeAll
  static void start() {
    fx = new AppRouterFixture(dir, Duration.ofSeconds(TTL_SECONDS));
  }

  @AfterAll
  static void stop() {
    if (fx != null) {
      fx.close();
    }
  }

  private static String label(int port) {
    return port + "--main--dev--alice";
  }

  /** The callback with a fresh code of {@code session}; returns the answer. */
  private static Answer callback(int port, String session, String path) {
    String code = fx.handoffCode(session, label(port));
    return fx.send(HttpMethod.GET, fx.host(port), "/.relaymesh/callback?code=" + enc(code)
        + (path == null ? "" : "&path=" + enc(path)), AppRouterTest.headers("Accept", HTML), null);
  }

  /** {@code name=value} of the app cookie in {@code a}'s Set-Cookie, or null. */
  private static String appCookie(Answer a, int port) {
    String name = AppAuth.cookieName(fx.host(port));
    return a.headers().getAll("Set-Cookie").stream().filter(c -> c.startsWith(name + "="))
        .map(c -> c.substring(0, c.indexOf(';'))).findFirst().orElse(null);
  }

  private static MultiMap withCookie(String cookie) {
    return AppRouterTest.headers("Accept", HTML, "Cookie", "theme=dark; " + cookie);
  }

  @Test
  void callbackSetsTheAppCookieAndTheCookieOpensTheApp() {
    int port = fx.startApp();
    String code = fx.handoffCode(fx.alice, label(port));
    Answer cb = fx.send(HttpMethod.GET, fx.host(port), "/.relaymesh/callback?code=" + enc(code)
        + "&path=" + enc("/deep/page?q=1"), AppRouterTest.headers("Accept", HTML), null);
    assertThat(cb.status()).as(cb.body()).isEqualTo(302);
    assertThat(cb.headers().get("Location")).isEqualTo("/deep/page?q=1");
    String set = cb.headers().getAll("Set-Cookie").get(0);
    assertThat(set).startsWith(AppAuth.cookieName(fx.host(port)) + "=")
        .contains("; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax", "; Max-Age=")
        .doesNotContain("Domain=");
    String cookie = appCookie(cb, port);

    Answer page = fx.send(HttpMethod.GET, fx.host(port), "/deep/page?q=1", withCookie(cookie),
        null);
    assertThat(page.status()).as(page.body()).isEqualTo(200);
    assertThat(page.body()).isEqualTo("hello from the app: GET /deep/page?q=1");
    Seen s = fx.lastSeen(port);
    assertThat(s.headers().getAll("Cookie")).containsExactly("theme=dark");
    assertThat(s.headers().toString()).doesNotContain(cookie.substring(cookie.indexOf('=') + 1));

    // the same code again: used up
    Answer again = fx.send(HttpMethod.GET, fx.host(port), "/.relaymesh/callback?code="
        + enc(code) + "&path=%2Fdeep", AppRouterTest.headers("Accept", HTML), null);
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.body()).contains("href=\"/deep\"").doesNotContain(code);
    assertThat(again.headers().contains("Set-Cookie")).isFalse();

    // a cookie of this app is refused by another app (and cleared there)
    int other = fx.startApp();
    String foreign = AppAuth.cookieName(fx.host(other)) + cookie.substring(cookie.indexOf('='));
    Answer elsewhere = fx.send(HttpMethod.GET, fx.host(other), "/", withCookie(foreign), null);
    assertThat(elsewhere.status()).as("sent to the login").isEqualTo(302);
    assertThat(elsewhere.headers().getAll("Set-Cookie"))
        .anyMatch(c -> c.startsWith(AppAuth.cookieName(fx.host(other)) + "=;")
            && c.contains("Max-Age=0"));
    assertThat(fx.seenBy(other)).isEmpty();
  }

  @Test
  void callbackRedirectsOnlyToLocalPaths() {
    int port = fx.startApp();
    for (String evil : new String[] {"https://evil.example/", "//evil.example/x",
        "/\\evil.example", "javascript:alert(1)", "/\t/evil.example"}) {
      Answer a = callback(port, fx.alice, evil);
      assertThat(a.status()).as(evil).isEqualTo(302);
      assertThat(a.headers().get("Location")).as(evil).isEqualTo("/");
    }
    assertThat(callback(port, fx.alice, null).headers().get("Location")).isEqualTo("/");
    Answer bogus = fx.send(HttpMethod.GET, fx.host(port), "/.relaymesh/callback?code=nope"
        + "&path=" + enc("//evil.example"), AppRouterTest.headers("Accept", HTML), null);
    assertThat(bogus.status()).isEqualTo(401);
    assertThat(bogus.body()).contains("href=\"/\"").doesNotContain("evil.example");
    assertThat(fx.seenBy(port)).isEmpty();
  }

  @Test
  void expiredAppTokensAreRefreshedAndRevokedSessionsStopWorking() throws Exception {
    int port = fx.startApp();
    String keep = fx.control.login("alice", Control.PASSWORD);
    String revoke = fx.control.login("alice", Control.PASSWORD);
    String kept = appCookie(callback(port, keep, "/"), port);
    String revoked = appCookie(callback(port, revoke, "/"), port);
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/", withCookie(revoked), null).status())
        .isEqualTo(200);
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/",
        AppRouterTest.headers("Relaymesh-Session-Token", revoke), null).status()).isEqualTo(200);
    assertThat(fx.control.http.post("/api/v1/logout", revoke, null).status()).isIn(200, 204);
    // inside the app-token lifetime the relay does not ask again (documented): the cookie is
    // verified offline and the session header's exchange is cached until the app token expires
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/", withCookie(revoked), null).status())
        .isEqualTo(200);
    assertThat(fx.send(HttpMethod.GET, fx.host(port), "/",
        AppRouterTest.headers("Relaymesh-Session-Token", revoke), null).status()).isEqualTo(200);
    Thread.sleep((TTL_SECONDS + 1) * 1000L);

    Answer refreshed = fx.send(HttpMethod.GET, fx.host(port), "/after", withCookie(kept), null);
    assertThat(refreshed.status()).as(refreshed.body()).isEqualTo(200);
    String fresh = appCookie(refreshed, port);
    assertThat(fresh).as("a new app cookie").isNotNull().isNotEqualTo(kept);
    assertThat(fx.lastSeen(port).headers().toString()).doesNotContain("relaymesh");
    Answer withFresh = fx.send(HttpMethod.GET, fx.host(port), "/again", withCookie(fresh), null);
    assertThat(withFresh.status()).isEqualTo(200);
    assertThat(appCookie(withFresh, port)).as("no refresh while valid").isNull();

    int seen = fx.seenBy(port).size();
    Answer gone = fx.send(HttpMethod.GET, fx.host(port), "/x", withCookie(revoked), null);
    assertThat(gone.status()).as(gone.body()).isEqualTo(302);
    assertThat(gone.headers().get("Location")).startsWith(fx.control.server.url()
        + "/apps/auth?");
    assertThat(gone.headers().getAll("Set-Cookie"))
        .anyMatch(c -> c.startsWith(AppAuth.cookieName(fx.host(port)) + "=;")
            && c.contains("Max-Age=0"));
    Answer header = fx.send(HttpMethod.GET, fx.host(port), "/x",
        AppRouterTest.headers("Relaymesh-Session-Token", revoke), null);
    assertThat(header.status()).isEqualTo(401);
    assertThat(fx.seenBy(port)).hasSize(seen);
  }

  @Test
  void browserFlowThroughTheControlPlanesAuthPageLandsOnTheApp() {
    int port = fx.startApp();
    // 1. the browser asks for the app: sent to the control plane
    Answer first = fx.send(HttpMethod.GET, fx.host(port), "/notes?id=7", withCookie("x=1"),
        null);
    assertThat(first.status()).as(first.body()).isEqualTo(302);
    String auth = first.headers().get("Location");
    // 2. signed in at the control plane (its session cookie): a handoff to the app's callback
    io.vertx.core.http.HttpClient control = fx.vertx.createHttpClient();
    String callback;
    try {
      callback = io.relaymesh.proxy.testutil.Await.await(control.request(
              new io.vertx.core.http.RequestOptions().setAbsoluteURI(auth)
                  .putHeader("Accept", HTML)
                  .putHeader("Cookie", "relaymesh_session=" + fx.alice))
          .compose(r -> r.send()).map(r -> {
            assertThat(r.statusCode()).as("/apps/auth answers a redirect").isEqualTo(302);
            return r.getHeader("Location");
          }));
    } finally {
      control.close();
    }
    String prefix = "https://" + fx.host(port) + ":" + fx.relay.port() + "/.relaymesh/callback?";
    assertThat(callback).startsWith(prefix);
    // 3. the relay's callback sets the app cookie and returns to the page first asked for
    Answer cb = fx.send(HttpMethod.GET, fx.host(port), callback.substring(callback.indexOf("/.relaymesh/")),
        AppRouterTest.headers("Accept", HTML), null);
    assertThat(cb.status()).as(cb.body()).isEqualTo(302);
    assertThat(cb.headers().get("Location")).isEqualTo("/notes?id=7");
    // 4. the app
    Answer page = fx.send(HttpMethod.GET, fx.host(port), "/notes?id=7",
        withCookie(appCookie(cb, port)), null);
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.body()).isEqualTo("hello from the app: GET /notes?id=7");
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
