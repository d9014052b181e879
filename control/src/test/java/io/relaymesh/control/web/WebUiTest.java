package io.relaymesh.control.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.web.Browser.Resp;
import io.vertx.core.json.JsonObject;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's pages over real HTTP against a real control plane and PostgreSQL: cookie
 * login/logout, redirects after login, CSRF, security headers, escaping, and {@code /apps/auth}.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class WebUiTest {

  static final String APPS_HOST = "apps.localhost:8443";

  static Control c;
  static PostgresTarget database;
  static String adminToken;
  static String bobToken;

  @BeforeAll
  static void start(@TempDir Path dir) {
    database = SharedPostgres.newDatabase();
    c = Control.start(Control.config(dir, SharedPostgres.url(database)));
    adminToken = c.setupAdmin();
    bobToken = c.createUser(adminToken, "bob");
    c.createWorkspace(adminToken, "dev");
    String relayToken = c.createRegion(adminToken, "eu");
    Http.Resp reg = c.http.post("/api/v1/relay/register", relayToken, new JsonObject()
        .put("replicaId", "eu-1").put("publicUrl", "https://relay.localhost:8443")
        .put("appsHost", APPS_HOST));
    assertThat(reg.status()).as(reg.toString()).isEqualTo(200);
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  @BeforeEach
  void forgetFailures() {
    c.sql("DELETE FROM login_failures");
  }

  static Browser browser() {
    return new Browser(c.server.url());
  }

  static Browser signedIn(String user) {
    Browser b = browser();
    Resp r = b.login(user, Control.PASSWORD);
    assertThat(r.status()).as(r.toString()).isEqualTo(303);
    assertThat(b.cookies).containsKey(WebSession.COOKIE);
    return b;
  }

  static void assertSecurityHeaders(Resp r) {
    assertThat(r.header("Content-Security-Policy")).as(r.toString()).isEqualTo(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'");
    assertThat(r.header("X-Content-Type-Options")).isEqualTo("nosniff");
    assertThat(r.header("Referrer-Policy")).isEqualTo("same-origin");
    assertThat(r.header("Cache-Control")).isEqualTo("no-store");
  }

  static String sessionCookie(Resp r) {
    return r.setCookies().stream().filter(x -> x.startsWith(WebSession.COOKIE + "="))
        .findFirst().orElse(null);
  }

  @Test
  void loginSetsAnHttpOnlyLaxSessionCookieAndTheDashboardShowsTheUser() {
    Browser b = browser();
    Resp form = b.get("/login");
    assertThat(form.status()).isEqualTo(200);
    assertThat(form.header("Content-Type")).startsWith("text/html");
    assertThat(form.body()).contains("id=\"username\"", "id=\"password\"", "id=\"login\"",
        "<label for=\"username\">", "<label for=\"password\">");
    assertSecurityHeaders(form);

    Resp r = b.login(Control.ADMIN, Control.PASSWORD);
    assertThat(r.status()).as(r.toString()).isEqualTo(303);
    assertThat(r.header("Location")).isEqualTo("/");
    String cookie = sessionCookie(r);
    // attribute names are case-insensitive (Netty writes "HTTPOnly")
    assertThat(cookie).isNotNull();
    assertThat(cookie.toLowerCase()).contains("; httponly", "; samesite=lax", "; path=/",
        "; max-age=").doesNotContain("secure");
    String token = b.cookies.get(WebSession.COOKIE);
    assertThat(token).startsWith("rms_");
    // an ordinary session, stored as its digest only
    String hex = HexFormat.of().formatHex(Tokens.hash(token));
    assertThat(c.query("SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = '"
        + hex + "' AND revoked_at IS NULL").get(0).get(0)).isEqualTo(1L);

    Resp dash = b.get("/");
    assertThat(dash.status()).isEqualTo(200);
    assertSecurityHeaders(dash);
    assertThat(dash.body()).contains("Signed in as <strong>admin</strong>", "id=\"workspaces\"",
        "data-workspace=\"admin/dev\"", "data-agent=\"main\"", "not connected",
        "id=\"regions\"", "eu-1", "apps.localhost:8443");
    // the cookie works for the pages only, not as an API credential
    assertThat(c.http.call("GET", "/api/v1/me", null, null).status()).isEqualTo(401);
  }

  @Test
  void aWrongPasswordShowsAnErrorAndSetsNoCookie() {
    Browser b = browser();
    Resp r = b.login(Control.ADMIN, "not the password");
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.body()).contains("Wrong user name or password", "role=\"alert\"")
        .doesNotContain("not the password");
    assertThat(r.setCookies()).isEmpty();
    assertSecurityHeaders(r);
    assertThat(b.get("/").status()).isEqualTo(302);

    Resp empty = b.post("/login", Map.of("username", "admin", "password", ""));
    assertThat(empty.status()).isEqualTo(400);
    assertThat(empty.setCookies()).isEmpty();
  }

  @Test
  void theDashboardRedirectsToLoginWhenNotSignedIn() {
    Browser b = browser();
    Resp r = b.get("/");
    assertThat(r.status()).isEqualTo(302);
    assertThat(r.header("Location")).isEqualTo("/login");
    b.cookies.put(WebSession.COOKIE, "rms_" + "x".repeat(43));
    assertThat(b.get("/").status()).isEqualTo(302);
    b.cookies.put(WebSession.COOKIE, "garbage");
    assertThat(b.get("/").status()).isEqualTo(302);
  }

  @Test
  void openRedirectsThroughNextEndAtTheDashboard() {
    List<String> hostile = List.of("//evil.example/x", "/\\evil.example/x", "\\\\evil.example",
        "https://evil.example/", "javascript:alert(1)", "evil.example", "/\t/evil.example", "");
    for (String next : hostile) {
      Browser b = browser();
      Resp r = b.post("/login", Map.of("username", Control.ADMIN, "password", Control.PASSWORD,
          "next", next));
      assertThat(r.status()).as(next).isEqualTo(303);
      assertThat(r.header("Location")).as(next).isEqualTo("/");
      // already signed in: the form redirects at once, also to "/" only
      Resp again = b.get("/login?next=" + Html.urlEncode(next));
      assertThat(again.status()).as(next).isEqualTo(302);
      assertThat(again.header("Location")).as(next).isEqualTo("/");
      // and the form carries only the sanitized value
      Resp form = browser().get("/login?next=" + Html.urlEncode(next));
      assertThat(form.body()).as(next).contains("name=\"next\" value=\"/\"");
    }
    Browser b = browser();
    Resp ok = b.post("/login", Map.of("username", Control.ADMIN, "password", Control.PASSWORD,
        "next", "/apps/auth?host=a&path=%2Fx"));
    assertThat(ok.header("Location")).isEqualTo("/apps/auth?host=a&path=%2Fx");
  }

  @Test
  void logoutRevokesTheSessionAndClearsTheCookie() {
    Browser b = signedIn("bob");
    String token = b.cookies.get(WebSession.COOKIE);
    Resp r = b.post("/logout", Map.of());
    assertThat(r.status()).isEqualTo(303);
    assertThat(r.header("Location")).isEqualTo("/login");
    assertThat(sessionCookie(r)).contains("Max-Age=0");
    assertThat(b.cookies).doesNotContainKey(WebSession.COOKIE);
    String hex = HexFormat.of().formatHex(Tokens.hash(token));
    assertThat(c.query("SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = '"
        + hex + "' AND revoked_at IS NOT NULL").get(0).get(0)).isEqualTo(1L);
    // replaying the old cookie does not sign in
    b.cookies.put(WebSession.COOKIE, token);
    assertThat(b.get("/").status()).isEqualTo(302);
  }

  @Test
  void crossOriginPostsAreRefused() {
    Browser b = signedIn("bob");
    String token = b.cookies.get(WebSession.COOKIE);
    for (String origin : List.of("https://evil.example", "null",
        c.server.url().replace("127.0.0.1", "127.0.0.2"))) {
      Resp r = b.post("/logout", Map.of(), origin);
      assertThat(r.status()).as(origin).isEqualTo(403);
      assertThat(r.body()).contains("cross-origin request refused");
      assertSecurityHeaders(r);
    }
    // neither Origin nor Referer: refused as well
    assertThat(b.post("/logout", Map.of(), null).status()).isEqualTo(403);
    // login CSRF: no session is planted from another site
    Browser other = browser();
    Resp login = other.post("/login", Map.of("username", "bob", "password", Control.PASSWORD),
        "https://evil.example");
    assertThat(login.status()).isEqualTo(403);
    assertThat(login.setCookies()).isEmpty();
    // the session survived every refused logout
    assertThat(b.cookies.get(WebSession.COOKIE)).isEqualTo(token);
    assertThat(b.get("/").status()).isEqualTo(200);
    // the same origin, or a same-origin Referer, is accepted
    assertThat(b.post("/logout", Map.of(), c.server.url()).status()).isEqualTo(303);
  }

  @Test
  void pagesEscapeHostileValues() {
    String relayToken = c.createRegion(adminToken, "xss");
    Http.Resp reg = c.http.post("/api/v1/relay/register", relayToken, new JsonObject()
        .put("replicaId", "x-1").put("publicUrl", "https://r.example/<script>alert(1)</script>")
        .put("appsHost", "a\"><img src=x onerror=alert(2)>.example"));
    assertThat(reg.status()).isEqualTo(200);
    try {
      Resp dash = signedIn("bob").get("/");
      assertThat(dash.status()).isEqualTo(200);
      assertThat(dash.body()).doesNotContain("<script>alert(1)", "<img src=x")
          .contains("https://r.example/&lt;script&gt;alert(1)&lt;/script&gt;",
              "a&quot;&gt;&lt;img src=x onerror=alert(2)&gt;.example");

      Resp form = browser().post("/login", Map.of("username", "\"><script>alert(3)</script>",
          "password", "whatever!"));
      assertThat(form.status()).isEqualTo(401);
      assertThat(form.body()).doesNotContain("<script>alert(3)")
          .contains("value=\"&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;\"");
      // no inline script or style anywhere
      for (String page : List.of(dash.body(), form.body())) {
        assertThat(page).doesNotContain("<script>", "<style", " style=", "onclick=");
      }
    } finally {
      c.http.delete("/api/v1/relays/xss", adminToken);
    }
  }

  @Test
  void staticAssetsAreServed() {
    Resp css = browser().get("/static/app.css");
    assertThat(css.status()).isEqualTo(200);
    assertThat(css.header("Content-Type")).startsWith("text/css");
    Resp js = browser().get("/static/app.js");
    assertThat(js.status()).isEqualTo(200);
    assertThat(js.header("Content-Type")).startsWith("text/javascript");
    assertThat(js.body()).contains("button.copy");
  }

  @Test
  void appsAuthAcceptsOnlyAppsUnderARegisteredAppsHost() {
    Browser b = signedIn(Control.ADMIN);
    for (String host : List.of("8080--main--dev--admin.evil.example",
        "8080--main--dev--admin.apps.localhost", // port differs from the registered apps host
        "8080--main--dev--admin.apps.localhost:9443",
        "x.8080--main--dev--admin.apps.localhost:8443", // not a single label
        "evil.example/.apps.localhost:8443", "apps.localhost:8443", "")) {
      Resp r = b.get("/apps/auth?host=" + Html.urlEncode(host) + "&path=/");
      assertThat(r.status()).as(host).isEqualTo(400);
      assertThat(r.header("Location")).as(host).isNull();
      assertSecurityHeaders(r);
    }
    Resp bad = b.get("/apps/auth?host=" + Html.urlEncode("not-an-app.apps.localhost:8443"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.body()).contains("not-an-app");
    // anonymous, bad host: 400 too (before any login redirect)
    assertThat(browser().get("/apps/auth?host=x.evil.example").status()).isEqualTo(400);
  }

  @Test
  void appsAuthSendsAnAnonymousVisitorToTheLoginPageAndBack() {
    Browser b = browser();
    String host = "8080--main--dev--admin.apps.localhost:8443";
    Resp r = b.get("/apps/auth?host=" + Html.urlEncode(host) + "&path=" + Html.urlEncode("/a?b=1"));
    assertThat(r.status()).isEqualTo(302);
    String location = r.header("Location");
    assertThat(location).startsWith("/login?next=");
    String next = URLDecoder.decode(location.substring("/login?next=".length()),
        StandardCharsets.UTF_8);
    assertThat(next).isEqualTo("/apps/auth?host=" + Html.urlEncode(host) + "&path="
        + Html.urlEncode("/a?b=1"));
    Resp form = b.get(location);
    assertThat(form.body()).contains("value=\"" + Html.escape(next) + "\"");
    Resp login = b.post("/login", Map.of("username", Control.ADMIN, "password", Control.PASSWORD,
        "next", next));
    assertThat(login.status()).isEqualTo(303);
    assertThat(login.header("Location")).isEqualTo(next);
  }

  @Test
  void anHttpsAccessUrlMakesTheCookieSecure(@TempDir Path dir) {
    try (Control tls = Control.start(Control.config(dir, SharedPostgres.url(database))
        .withAccessUrl("https://control.example.test"))) {
      String base = "http://127.0.0.1:" + tls.server.port();
      Browser b = new Browser(base);
      // the access URL's origin is this server's own origin
      Resp r = b.post("/login", Map.of("username", "bob", "password", Control.PASSWORD),
          "https://control.example.test");
      assertThat(r.status()).as(r.toString()).isEqualTo(303);
      assertThat(sessionCookie(r).toLowerCase()).contains("; secure", "; httponly",
          "; samesite=lax");
    }
  }
}
