package io.relaymesh.relay.apps;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The pure parts of the app front: stripping, forwarding headers, paths, cookies, pages. */
class AppRouterUnitTest {

  @Test
  void relaymeshCookiesAreStrippedAndTheAppsKeptInOrder() {
    MultiMap in = HttpHeaders.headers()
        .add("Cookie", "a=1; __Host-relaymesh_app_0123456789ab=tok; b=2")
        .add("Cookie", "relaymesh_session=x; c=\"q\"; RelayMeshOther=y");
    MultiMap out = AppHeaders.upstream(in, "10.0.0.7", "8080--main--dev--alice.apps.localhost");
    assertThat(out.getAll("Cookie")).containsExactly("a=1; b=2; c=\"q\"");
  }

  @Test
  void onlyRelaymeshCookiesMeansNoCookieHeader() {
    MultiMap out = AppHeaders.upstream(HttpHeaders.headers()
        .add("Cookie", "__Host-relaymesh_app_0123456789ab=tok"), "10.0.0.7", "h");
    assertThat(out.contains("Cookie")).isFalse();
  }

  @Test
  void relaymeshCredentialsAreStrippedOtherAuthorizationKept() {
    for (String token : new String[] {"rms_abc", "rma_abc", "rmr_abc"}) {
      MultiMap out = AppHeaders.upstream(HttpHeaders.headers()
          .add("Authorization", "Bearer " + token)
          .add("Relaymesh-Session-Token", "rms_x").add("X-App", "v"), "10.0.0.7", "h");
      assertThat(out.contains("Authorization")).as(token).isFalse();
      assertThat(out.contains("Relaymesh-Session-Token")).isFalse();
      assertThat(out.get("X-App")).isEqualTo("v");
    }
    MultiMap basic = AppHeaders.upstream(HttpHeaders.headers()
        .add("Authorization", "Basic dXNlcjpwYXNz"), "10.0.0.7", "h");
    assertThat(basic.get("Authorization")).isEqualTo("Basic dXNlcjpwYXNz");
    MultiMap appBearer = AppHeaders.upstream(HttpHeaders.headers()
        .add("Authorization", "Bearer app-own-token"), "10.0.0.7", "h");
    assertThat(appBearer.get("Authorization")).isEqualTo("Bearer app-own-token");
  }

  @Test
  void forwardingHeadersAreAddedAndAppended() {
    MultiMap out = AppHeaders.upstream(HttpHeaders.headers()
        .add("X-Forwarded-For", "1.2.3.4").add("X-Forwarded-Proto", "http")
        .add("X-Forwarded-Host", "evil").add("Forwarded", "for=1.2.3.4"),
        "10.0.0.7", "8080--main--dev--alice.apps.localhost:8443");
    assertThat(out.get("X-Forwarded-For")).isEqualTo("1.2.3.4, 10.0.0.7");
    assertThat(out.getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(out.getAll("X-Forwarded-Host"))
        .containsExactly("8080--main--dev--alice.apps.localhost:8443");
    assertThat(out.get("Forwarded")).isEqualTo("for=1.2.3.4, for=10.0.0.7;proto=https;"
        + "host=\"8080--main--dev--alice.apps.localhost:8443\"");
  }

  @Test
  void forwardedQuotesIpv6() {
    MultiMap out = AppHeaders.upstream(HttpHeaders.headers(), "2001:db8::1", "a.example");
    assertThat(out.get("Forwarded")).isEqualTo("for=\"[2001:db8::1]\";proto=https;host=a.example");
    assertThat(out.get("X-Forwarded-For")).isEqualTo("2001:db8::1");
  }

  @Test
  void relaymeshQueryParametersAreStrippedOthersKeptByteForByte() {
    assertThat(AppHeaders.stripQuery("/p?a=1&relaymesh_token=x&b=%20y&RELAYMESH_z&c"))
        .isEqualTo("/p?a=1&b=%20y&c");
    assertThat(AppHeaders.stripQuery("/p?relaymesh%5Fcode=1")).isEqualTo("/p");
    assertThat(AppHeaders.stripQuery("/p?a=1&&b")).isEqualTo("/p?a=1&&b");
    assertThat(AppHeaders.stripQuery("/p")).isEqualTo("/p");
    assertThat(AppHeaders.stripQuery("/p?relaymeshx=1")).isEqualTo("/p?relaymeshx=1");
  }

  @Test
  void callbackRedirectsOnlyToLocalPaths() {
    assertThat(AppRouter.safeLocalPath("/a/b?c=d#e")).isEqualTo("/a/b?c=d#e");
    assertThat(AppRouter.safeLocalPath("/")).isEqualTo("/");
    for (String bad : new String[] {null, "", "//evil.example/", "/\\evil.example",
        "https://evil.example/", "javascript:alert(1)", "evil.example", "/\t/evil.example",
        "/\r\nSet-Cookie: x=y", " /x", "\\\\evil", "/caf\u00e9"}) {
      assertThat(AppRouter.safeLocalPath(bad)).as(String.valueOf(bad)).isEqualTo("/");
    }
  }

  @Test
  void reservedPathsIncludeEncodedAndMixedCaseForms() {
    assertThat(AppRouter.isReserved("/.relaymesh/callback")).isTrue();
    assertThat(AppRouter.isReserved("/.relaymesh")).isTrue();
    assertThat(AppRouter.isReserved("/%2Erelaymesh/x")).isTrue();
    assertThat(AppRouter.isReserved("/.RelayMesh/x")).isTrue();
    assertThat(AppRouter.isReserved("/.relaymeshx")).isFalse();
    assertThat(AppRouter.isReserved("/app/.relaymesh/x")).isFalse();
  }

  @Test
  void cookieNameIsHostBoundAndPortless() {
    String a = AppAuth.cookieName("8080--main--dev--alice.apps.localhost:8443");
    assertThat(a).isEqualTo(AppAuth.cookieName("8080--MAIN--dev--alice.apps.localhost"))
        .matches("__Host-relaymesh_app_[0-9a-f]{12}")
        .isEqualTo("__Host-relaymesh_app_" + AppsControl.sha256Hex(
            "8080--main--dev--alice.apps.localhost").substring(0, 12));
    assertThat(AppAuth.cookieName("8081--main--dev--alice.apps.localhost")).isNotEqualTo(a);
  }

  @Test
  void setCookieHasTheContractAttributesAndLivesUntilRefreshUntil() {
    AppsControl.Grant g = new AppsControl.Grant("tok.en.sig", Instant.now().plusSeconds(60),
        Instant.now().plusSeconds(3600), "alice");
    String c = AppAuth.setCookie("__Host-relaymesh_app_0123456789ab", g);
    assertThat(c).startsWith("__Host-relaymesh_app_0123456789ab=tok.en.sig; Max-Age=")
        .endsWith("; Path=/; Secure; HttpOnly; SameSite=Lax");
    long maxAge = Long.parseLong(c.replaceAll(".*Max-Age=(\\d+);.*", "$1"));
    assertThat(maxAge).isBetween(3590L, 3600L);
    assertThat(g.toString()).doesNotContain("tok.en.sig");
    assertThat(AppAuth.clearCookie("n")).startsWith("n=; Max-Age=0; Path=/; Secure; HttpOnly");
  }

  @Test
  void grantTimesParseIsoAndEpoch() {
    assertThat(AppsControl.instant("2026-01-02T03:04:05Z"))
        .isEqualTo(Instant.parse("2026-01-02T03:04:05Z"));
    assertThat(AppsControl.instant(1_700_000_000L)).isEqualTo(Instant.ofEpochSecond(1_700_000_000L));
    assertThat(AppsControl.instant(1_700_000_000_000L))
        .isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
    assertThat(AppsControl.instant("nonsense")).isNull();
  }

  @Test
  void pagesEscapeEverything() {
    String html = AppPages.html(404, "App <not> found", "no app '<script>alert(1)</script>' & co",
        new AppPages.Link("/x?a=\"b\"", "retry"), "relay eu/r1");
    assertThat(html).contains("&lt;script&gt;alert(1)&lt;/script&gt;").contains("&amp; co")
        .contains("href=\"/x?a=&quot;b&quot;\"").contains("<h1>404 · App &lt;not&gt; found</h1>")
        .doesNotContain("<script>");
  }
}
