package io.relaymesh.control.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.HandoffStore;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.web.Browser.Resp;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /apps/auth} decisions (handoff redirect, 403, 404) and the dashboard's share forms,
 * against a real control plane and PostgreSQL, with a registered relay replica whose apps host
 * has a port.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class AppAuthAndSharesTest {

  static final String APPS_HOST = "apps.localhost:8443";
  static final String APP = "8080--main--dev--admin";
  static final String APP_HOST = APP + "." + APPS_HOST;

  static Control c;
  static String adminToken;
  static Db db;
  static HandoffStore handoffs;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    adminToken = c.setupAdmin();
    c.createUser(adminToken, "bob");
    c.createWorkspace(adminToken, "dev");
    String relayToken = c.createRegion(adminToken, "eu");
    Http.Resp reg = c.http.post("/api/v1/relay/register", relayToken, new JsonObject()
        .put("replicaId", "eu-1").put("publicUrl", "https://relay.localhost:8443")
        .put("appsHost", APPS_HOST));
    assertThat(reg.status()).as(reg.toString()).isEqualTo(200);
    db = Db.create(c.server.vertx(), c.db, 2);
    handoffs = new HandoffStore(db);
  }

  @AfterAll
  static void stop() {
    if (db != null) {
      Control.await(db.pool().close());
    }
    if (c != null) {
      c.close();
    }
  }

  @AfterEach
  void reset() {
    c.sql("DELETE FROM port_shares");
    c.sql("UPDATE settings SET value = 'public' WHERE key = 'max_share_level'");
  }

  static Browser signedIn(String user) {
    Browser b = new Browser(c.server.url());
    Resp r = b.login(user, Control.PASSWORD);
    assertThat(r.status()).as(r.toString()).isEqualTo(303);
    return b;
  }

  static Resp auth(Browser b, String host, String path) {
    return b.get("/apps/auth?host=" + Html.urlEncode(host) + "&path=" + Html.urlEncode(path));
  }

  static Map<String, String> form(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  static Map<String, String> query(URI u) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String p : u.getRawQuery().split("&")) {
      int eq = p.indexOf('=');
      m.put(p.substring(0, eq), URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return m;
  }

  /** The {@code <tr data-app="...">} row of the shares table, or {@code null}. */
  static String row(String page, String app) {
    Matcher m = Pattern.compile("<tr data-app=\"" + Pattern.quote(app) + "\".*?</tr>",
        Pattern.DOTALL).matcher(page);
    return m.find() ? m.group() : null;
  }

  @Test
  void theOwnerGetsAOneTimeHandoffCodeAndARedirectToTheAppCallback() {
    Browser b = signedIn(Control.ADMIN);
    Resp r = auth(b, APP_HOST, "/x?y=1");
    assertThat(r.status()).as(r.toString()).isEqualTo(302);
    URI location = URI.create(r.header("Location"));
    assertThat(location.getScheme()).isEqualTo("https");
    assertThat(location.getRawAuthority()).isEqualTo(APP_HOST);
    assertThat(location.getPath()).isEqualTo("/.relaymesh/callback");
    Map<String, String> q = query(location);
    assertThat(q.get("path")).isEqualTo("/x?y=1");
    String code = q.get("code");
    assertThat(code).hasSizeGreaterThan(20);
    // the code is stored hashed, bound to this app and this browser session
    assertThat(c.query("SELECT count(*) FROM app_handoffs WHERE encode(code_hash, 'escape') LIKE '%"
        + code.substring(0, 12) + "%'").get(0).get(0)).isEqualTo(0L);
    String session = HexFormat.of().formatHex(Tokens.hash(b.cookies.get(WebSession.COOKIE)));
    long sessionId = (Long) c.query("SELECT id FROM sessions WHERE encode(token_hash, 'hex') = '"
        + session + "'").get(0).get(0);
    HandoffStore.Handoff h = Control.await(handoffs.consume(code, APP));
    assertThat(h).isNotNull();
    assertThat(h.sessionId()).isEqualTo(sessionId);
    assertThat(Control.await(handoffs.consume(code, APP))).as("single use").isNull();

    // a code is refused by another app
    Resp again = auth(b, APP_HOST, "/");
    String other = query(URI.create(again.header("Location"))).get("code");
    assertThat(Control.await(handoffs.consume(other, "8081--main--dev--admin"))).isNull();

    // a non-local path becomes "/"
    Resp evil = auth(b, APP_HOST, "//evil.example/");
    assertThat(query(URI.create(evil.header("Location"))).get("path")).isEqualTo("/");
  }

  @Test
  void anotherUserIsRefusedOnAnOwnerShareUntilItBecomesAuthenticated() {
    Browser bob = signedIn("bob");
    Resp r = auth(bob, APP_HOST, "/");
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.header("Location")).isNull();
    WebUiTest.assertSecurityHeaders(r);
    assertThat(r.body()).contains("<strong class=\"user\">bob</strong>",
        "<strong class=\"app\">" + APP + "</strong>", "<strong class=\"level\">owner</strong>",
        "action=\"/logout\"", "id=\"switch-user\"");
    assertThat(c.query("SELECT count(*) FROM app_handoffs").get(0).get(0)).isEqualTo(0L);

    Browser admin = signedIn(Control.ADMIN);
    Resp share = admin.post("/shares", form("workspace", "dev", "agent", "main", "port", "8080",
        "level", "authenticated"));
    assertThat(share.status()).as(share.toString()).isEqualTo(303);

    Resp allowed = auth(bob, APP_HOST, "/");
    assertThat(allowed.status()).isEqualTo(302);
    assertThat(allowed.header("Location")).startsWith("https://" + APP_HOST
        + "/.relaymesh/callback?code=");

    // signing out from the 403 page returns to the same app after the next login
    String self = "/apps/auth?host=" + Html.urlEncode(APP_HOST) + "&path=%2F";
    Resp out = bob.post("/logout", form("next", self));
    assertThat(out.status()).isEqualTo(303);
    assertThat(out.header("Location")).isEqualTo("/login?next=" + Html.urlEncode(self));
  }

  @Test
  void anUnknownAppGetsA404Page() {
    Browser b = signedIn(Control.ADMIN);
    Resp r = auth(b, "8080--main--nope--admin." + APPS_HOST, "/");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.header("Content-Type")).startsWith("text/html");
    assertThat(r.body()).contains("8080--main--nope--admin");
    WebUiTest.assertSecurityHeaders(r);
  }

  @Test
  void theDashboardListsChangesAndRemovesShares() {
    Browser b = signedIn(Control.ADMIN);
    assertThat(b.get("/").body()).contains("id=\"no-shares\"", "id=\"add-share\"");

    Resp add = b.post("/shares", form("workspace", "dev", "agent", "main", "port", "8080",
        "level", "public"));
    assertThat(add.status()).as(add.toString()).isEqualTo(303);
    String page = b.get("/").body();
    String row = row(page, APP);
    assertThat(row).as(page).isNotNull().contains("data-level=\"public\"",
        "<a class=\"share-url\" href=\"https://" + APP_HOST + "/\">",
        "class=\"copy\" data-url=\"https://" + APP_HOST + "/\"",
        "<option value=\"public\" selected>");
    assertThat(page).contains("<table id=\"shares\">", "<th scope=\"col\">Level</th>",
        "<label class=\"visually-hidden\" for=\"level-" + APP + "\">");

    // the app speaks HTTPS: another app name
    assertThat(b.post("/shares", form("workspace", "dev", "port", "8443", "https", "true",
        "level", "owner")).status()).isEqualTo(303);
    assertThat(row(b.get("/").body(), "8443s--main--dev--admin")).contains("(https)");

    Resp change = b.post("/shares/level", form("workspace", "dev", "agent", "main",
        "port", "8080", "https", "false", "level", "authenticated"));
    assertThat(change.status()).isEqualTo(303);
    assertThat(row(b.get("/").body(), APP)).contains("data-level=\"authenticated\"");

    // above the admin's maximum: refused, the error is on the page, nothing changed
    Http.Resp max = c.http.call("PUT", "/api/v1/settings", adminToken,
        new JsonObject().put("maxShareLevel", "authenticated"));
    assertThat(max.status()).as(max.toString()).isEqualTo(200);
    Resp tooHigh = b.post("/shares/level", form("workspace", "dev", "agent", "main",
        "port", "8080", "https", "false", "level", "public"));
    assertThat(tooHigh.status()).isEqualTo(400);
    assertThat(tooHigh.body()).contains("role=\"alert\"", "maximum share level",
        "id=\"max-level\">authenticated<");
    assertThat(row(tooHigh.body(), APP)).contains("data-level=\"authenticated\"");

    Resp unshare = b.post("/shares/delete", form("workspace", "dev", "agent", "main",
        "port", "8080"));
    assertThat(unshare.status()).isEqualTo(303);
    page = b.get("/").body();
    assertThat(row(page, APP)).isNull();
    assertThat(row(page, "8443s--main--dev--admin")).isNotNull();
  }

  @Test
  void badShareFormsShowTheirErrorAndChangeNothing() {
    Browser b = signedIn(Control.ADMIN);
    var before = c.snapshot();
    Resp port = b.post("/shares", form("workspace", "dev", "port", "eighty", "level", "public"));
    assertThat(port.status()).isEqualTo(400);
    assertThat(port.body()).contains(Html.escape("port 'eighty' is not a number"));
    Resp low = b.post("/shares", form("workspace", "dev", "port", "22", "level", "public"));
    assertThat(low.status()).isEqualTo(400);
    assertThat(low.body()).contains("port 22 is below 1024");
    Resp level = b.post("/shares", form("workspace", "dev", "port", "8080", "level", "<all>"));
    assertThat(level.status()).isEqualTo(400);
    assertThat(level.body()).contains(Html.escape("share level '<all>'"));
    Resp missing = b.post("/shares", form("workspace", "nope", "port", "8080", "level", "public"));
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.body()).contains(Html.escape("workspace 'admin/nope' not found"));
    // someone else's workspace cannot be shared from the dashboard: the owner is the user
    Browser bob = signedIn("bob");
    Resp foreign = bob.post("/shares", form("workspace", "dev", "port", "8080", "level",
        "public"));
    assertThat(foreign.status()).isEqualTo(404);
    // a cross-origin form is refused before anything happens
    Resp csrf = b.post("/shares", form("workspace", "dev", "port", "8080", "level", "public"),
        "https://evil.example");
    assertThat(csrf.status()).isEqualTo(403);
    // not signed in: back to the login page
    Resp anonymous = new Browser(c.server.url()).post("/shares", form("workspace", "dev",
        "port", "8080", "level", "public"));
    assertThat(anonymous.status()).isEqualTo(303);
    assertThat(anonymous.header("Location")).isEqualTo("/login");
    c.sql("DELETE FROM login_failures");
    var after = c.snapshot();
    assertThat(after.get("port_shares")).isEqualTo(before.get("port_shares"));
  }
}
