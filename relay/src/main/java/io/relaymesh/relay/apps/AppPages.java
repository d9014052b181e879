package io.relaymesh.relay.apps;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import java.util.Locale;

/**
 * The relay's own answers on app hosts: small HTML error pages (status, title, one sentence of
 * who/where/why, an optional link) with a strict Content-Security-Policy, or the
 * {@code {"code","message"}} JSON shape when the client asks for JSON and not HTML. Never
 * cached, never carrying a token. Also the redirects of the browser flow.
 */
public final class AppPages {

  static final String CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none';"
      + " form-action 'none'; frame-ancestors 'none'";
  private static final String STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:40em;"
      + "margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}"
      + "p.meta{color:#666;font-size:.85em}";

  private AppPages() {}

  /** A link on an error page. */
  public record Link(String href, String text) {}

  /** Answers {@code status} with a page (or JSON) saying {@code message}. */
  public static void error(HttpServerRequest req, int status, String code, String title,
      String message) {
    error(req, status, code, title, message, null, null);
  }

  /**
   * Answers {@code status}; {@code link} (may be null) is shown on the HTML page,
   * {@code footer} (may be null) is a small line naming the relay.
   */
  public static void error(HttpServerRequest req, int status, String code, String title,
      String message, Link link, String footer) {
    HttpServerResponse r = req.response();
    if (r.ended() || r.closed() || r.headWritten()) {
      return;
    }
    whenAnswerable(req, () -> writeError(req, status, code, title, message, link, footer));
  }

  private static void writeError(HttpServerRequest req, int status, String code, String title,
      String message, Link link, String footer) {
    HttpServerResponse r = req.response();
    if (r.ended() || r.closed() || r.headWritten()) {
      return;
    }
    r.setStatusCode(status).putHeader("Cache-Control", "no-store")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer");
    if (status == 401) {
      r.putHeader("WWW-Authenticate", "Bearer realm=\"relaymesh\"");
    }
    if (wantsJson(req)) {
      r.putHeader("Content-Type", "application/json");
      r.end(new JsonObject().put("code", code).put("message", message).encode());
      return;
    }
    r.putHeader("Content-Type", "text/html; charset=utf-8")
        .putHeader("Content-Security-Policy", CSP);
    r.end(html(status, title, message, link, footer));
  }

  /** A {@code 302} to {@code location} (already safe: local or the control plane's). */
  public static void redirect(HttpServerRequest req, String location) {
    HttpServerResponse r = req.response();
    if (r.ended() || r.closed() || r.headWritten()) {
      return;
    }
    whenAnswerable(req, () -> writeRedirect(req, location));
  }

  private static void writeRedirect(HttpServerRequest req, String location) {
    HttpServerResponse r = req.response();
    if (r.ended() || r.closed() || r.headWritten()) {
      return;
    }
    r.setStatusCode(302).putHeader("Location", location).putHeader("Cache-Control", "no-store")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader("Content-Type", "text/html; charset=utf-8")
        .putHeader("Content-Security-Policy", CSP);
    r.end("<!doctype html><title>Redirecting</title><a href=\"" + escape(location)
        + "\">Continue</a>\n");
  }

  /** The HTML page, escaped. */
  static String html(int status, String title, String message, Link link, String footer) {
    StringBuilder b = new StringBuilder(512);
    b.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<title>").append(status).append(' ').append(escape(title))
        .append(" · relaymesh</title><style>").append(STYLE).append("</style></head><body>")
        .append("<h1>").append(status).append(" · ").append(escape(title)).append("</h1>")
        .append("<p>").append(escape(message)).append("</p>");
    if (link != null) {
      b.append("<p><a href=\"").append(escape(link.href())).append("\">")
          .append(escape(link.text())).append("</a></p>");
    }
    if (footer != null) {
      b.append("<p class=\"meta\">").append(escape(footer)).append("</p>");
    }
    return b.append("</body></html>\n").toString();
  }

  /** A browser navigation: {@code GET}/{@code HEAD} accepting {@code text/html}. */
  public static boolean isBrowserNavigation(HttpServerRequest req) {
    String accept = req.getHeader("Accept");
    return (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)
        && accept != null && accept.toLowerCase(Locale.ROOT).contains("text/html");
  }

  /** Accepts JSON and not HTML. */
  static boolean wantsJson(HttpServerRequest req) {
    String accept = req.getHeader("Accept");
    if (accept == null) {
      return false;
    }
    String a = accept.toLowerCase(Locale.ROOT);
    return a.contains("json") && !a.contains("text/html");
  }

  /**
   * Runs {@code write} (which answers the request) once that is safe, without reading the
   * request's body. Vert.x 5.0.7 can wedge an HTTP/1.x keep-alive connection when a paused
   * request is resumed and its response ended in the same moment, before the request's end went
   * through (seen as a rare hang in AppForwarderTest and reproduced with Vert.x alone): so a
   * request without a body is answered once its end has arrived; one whose body is still coming
   * is answered at once and its connection closed after the answer (the body is discarded).
   */
  static void whenAnswerable(HttpServerRequest req, Runnable write) {
    req.handler(null);
    if (req.isEnded() || req.version() == HttpVersion.HTTP_2) {
      resume(req);
      write.run();
      return;
    }
    String length = req.getHeader("Content-Length");
    boolean body = req.getHeader("Transfer-Encoding") != null
        || (length != null && !length.trim().equals("0"));
    if (body) {
      req.response().putHeader("Connection", "close");
      resume(req);
      write.run();
      return;
    }
    req.end().onComplete(x -> write.run());
    resume(req);
  }

  /** Resumes a paused request unless it ended or its connection is gone. */
  static void resume(HttpServerRequest req) {
    try {
      if (!req.isEnded()) {
        req.resume();
      }
    } catch (RuntimeException e) {
      // already ended or the connection is gone
    }
  }

  static String escape(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
