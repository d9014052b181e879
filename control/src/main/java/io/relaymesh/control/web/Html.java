package io.relaymesh.control.web;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * HTML building blocks of the dashboard: escaping and the page frame. Every value that did not
 * come from this code goes through {@link #escape}; pages carry no inline script or style (the
 * Content-Security-Policy forbids both).
 */
public final class Html {

  private Html() {}

  /** Escapes text for an element body or a double-quoted attribute value. */
  public static String escape(Object value) {
    String s = String.valueOf(value);
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String r = switch (c) {
        case '&' -> "&amp;";
        case '<' -> "&lt;";
        case '>' -> "&gt;";
        case '"' -> "&quot;";
        case '\'' -> "&#39;";
        default -> null;
      };
      if (r != null && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b != null) {
        if (r != null) {
          b.append(r);
        } else {
          b.append(c);
        }
      }
    }
    return b == null ? s : b.toString();
  }

  /** Percent-encodes a query parameter value. */
  public static String urlEncode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /**
   * A whole page: {@code title} (text), the signed-in user's name or {@code null}, and the
   * already-escaped {@code main} content.
   */
  public static String page(String title, String username, String main) {
    StringBuilder b = new StringBuilder(2048 + main.length());
    b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>").append(escape(title)).append(" · Relaymesh</title>\n")
        .append("<link rel=\"icon\" href=\"data:,\">\n")
        .append("<link rel=\"stylesheet\" href=\"/static/app.css\">\n")
        .append("<script src=\"/static/app.js\" defer></script>\n")
        .append("</head>\n<body>\n<header class=\"top\">\n<a class=\"brand\" href=\"/\">Relaymesh</a>\n");
    if (username != null) {
      b.append("<form class=\"signout\" method=\"post\" action=\"/logout\">")
          .append("<span id=\"signed-in-user\">Signed in as <strong>").append(escape(username))
          .append("</strong></span> <button type=\"submit\" id=\"logout\">Sign out</button>")
          .append("</form>\n");
    }
    b.append("</header>\n<main id=\"main\">\n<h1>").append(escape(title)).append("</h1>\n")
        .append(main).append("\n</main>\n</body>\n</html>\n");
    return b.toString();
  }

  /** A paragraph announcing an error to assistive technology as well ({@code role=alert}). */
  public static String error(String message) {
    return "<p class=\"error\" role=\"alert\" id=\"error\">" + escape(message) + "</p>\n";
  }

  /** A status paragraph ({@code role=status}). */
  public static String notice(String message) {
    return "<p class=\"notice\" role=\"status\" id=\"notice\">" + escape(message) + "</p>\n";
  }
}
