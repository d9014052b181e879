package io.relaymesh.control.web;

import io.relaymesh.control.api.PasswordLogin;
import io.relaymesh.control.api.Services;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.vertx.core.Future;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.util.Locale;

/**
 * Browser sessions of the dashboard: the ordinary login session ({@code rms_} token, stored as
 * its digest) carried in the cookie {@value #COOKIE} ({@code HttpOnly; SameSite=Lax; Path=/},
 * {@code Secure} over HTTPS), plus the same-origin check of state-changing requests and the
 * validation of local redirect targets.
 *
 * <p>The cookie is honoured by the HTML pages only, never by {@code /api/}: the JSON API keeps
 * requiring an explicit token header, so it cannot be driven cross-site with a user's cookie.
 */
public final class WebSession {

  /** The session cookie's name. */
  public static final String COOKIE = "relaymesh_session";

  private final Services s;
  private final String ownOrigin;
  private final boolean httpsAccess;

  public WebSession(Services s) {
    this.s = s;
    this.ownOrigin = origin(s.accessUrl());
    this.httpsAccess = s.accessUrl().toLowerCase(Locale.ROOT).startsWith("https:");
  }

  /** The signed-in user of this request, or {@code null} (no, bad, expired or revoked cookie). */
  public Future<Principal.User> user(RoutingContext ctx) {
    Cookie c = ctx.request().getCookie(COOKIE);
    String token = c == null ? null : c.getValue();
    if (token == null || !Tokens.wellFormed(token, TokenKind.SESSION)) {
      return Future.succeededFuture(null);
    }
    return s.sessions().authenticate(Tokens.hash(token));
  }

  /** Sets the cookie of a new session on the response. */
  void start(RoutingContext ctx, PasswordLogin.Session session) {
    long maxAge = Math.max(1, session.expiresAt().getEpochSecond()
        - java.time.Instant.now().getEpochSecond());
    ctx.response().addCookie(cookie(ctx, session.token()).setMaxAge(maxAge));
  }

  /** Tells the browser to drop the cookie. */
  void clear(RoutingContext ctx) {
    ctx.response().addCookie(cookie(ctx, "").setMaxAge(0));
  }

  /** Whether cookies get {@code Secure}: the request came over TLS or the access URL is https. */
  boolean secure(RoutingContext ctx) {
    return httpsAccess || ctx.request().isSSL();
  }

  private Cookie cookie(RoutingContext ctx, String value) {
    return Cookie.cookie(COOKIE, value).setPath("/").setHttpOnly(true)
        .setSameSite(CookieSameSite.LAX).setSecure(secure(ctx));
  }

  /**
   * CSRF check of a state-changing request: its {@code Origin} (or, without one, the origin of
   * its {@code Referer}) must be the control plane's own origin: that of the access URL, or the
   * scheme and {@code Host} the request itself was sent to (what a browser sends for a page of
   * this server reached under another name, e.g. {@code localhost} instead of
   * {@code 127.0.0.1}). A cross-site page cannot forge either header.
   */
  boolean sameOrigin(RoutingContext ctx) {
    String origin = ctx.request().getHeader("Origin");
    if (origin == null) {
      String referer = ctx.request().getHeader("Referer");
      if (referer == null) {
        return false;
      }
      origin = origin(referer);
    } else {
      origin = origin(origin);
    }
    if (origin == null) {
      return false;
    }
    if (origin.equals(ownOrigin)) {
      return true;
    }
    String host = ctx.request().getHeader("Host");
    return host != null
        && origin.equals(origin((ctx.request().isSSL() ? "https://" : "http://") + host));
  }

  /** {@code scheme://host[:port]} of a URL, lowercase, default ports dropped; {@code null} if none. */
  static String origin(String url) {
    try {
      URI u = new URI(url);
      String scheme = u.getScheme();
      String host = u.getHost();
      if (scheme == null || host == null) {
        return null;
      }
      scheme = scheme.toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        return null;
      }
      int port = u.getPort();
      boolean defaultPort = port == -1 || (scheme.equals("http") && port == 80)
          || (scheme.equals("https") && port == 443);
      return scheme + "://" + host.toLowerCase(Locale.ROOT) + (defaultPort ? "" : ":" + port);
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }

  /**
   * A redirect target after login: a local path ({@code /...}, not {@code //} nor {@code /\},
   * no control characters), else {@code /}.
   */
  public static String localPath(String next) {
    if (next == null || next.isEmpty() || next.charAt(0) != '/' || next.length() > 4096) {
      return "/";
    }
    if (next.length() > 1 && (next.charAt(1) == '/' || next.charAt(1) == '\\')) {
      return "/";
    }
    for (int i = 0; i < next.length(); i++) {
      char c = next.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '\\') {
        return "/";
      }
    }
    return next;
  }
}
