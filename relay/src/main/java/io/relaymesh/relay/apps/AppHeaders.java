package io.relaymesh.relay.apps;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the relay removes from and adds to an app request before it reaches the workspace
 * (docs/apps.md, "What the app sees"): relaymesh cookies ({@code __Host-relaymesh*},
 * {@code relaymesh*}), {@code Relaymesh-Session-Token}, an {@code Authorization} carrying a
 * relaymesh token ({@code Bearer rms_/rma_/rmr_}), query parameters named {@code relaymesh_*};
 * adds {@code X-Forwarded-For} (appended), {@code X-Forwarded-Proto: https},
 * {@code X-Forwarded-Host} and {@code Forwarded}. Everything else, including the order of the
 * app's own cookies and parameters, is left as the browser sent it. Hop-by-hop headers are the
 * forwarder's business. Pure functions.
 */
public final class AppHeaders {

  public static final String SESSION_HEADER = "Relaymesh-Session-Token";
  private static final String[] TOKEN_PREFIXES = {"rms_", "rma_", "rmr_"};

  private AppHeaders() {}

  /**
   * The headers to send upstream: {@code in} without relaymesh credentials, plus the forwarding
   * headers for a browser at {@code clientIp} asking for {@code host} (as it sent it).
   */
  public static MultiMap upstream(MultiMap in, String clientIp, String host) {
    MultiMap out = HttpHeaders.headers();
    List<String> cookies = new ArrayList<>();
    List<String> xff = new ArrayList<>();
    List<String> forwarded = new ArrayList<>();
    for (Map.Entry<String, String> e : in) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      String value = e.getValue();
      switch (name) {
        case "cookie" -> cookies.addAll(appCookies(value));
        case "relaymesh-session-token" -> { }
        case "authorization" -> {
          if (!isRelaymeshAuthorization(value)) {
            out.add(e.getKey(), value);
          }
        }
        case "x-forwarded-for" -> xff.add(value);
        case "forwarded" -> forwarded.add(value);
        case "x-forwarded-proto", "x-forwarded-host" -> { } // ours replace the browser's
        default -> {
          if (!name.startsWith(":")) { // HTTP/2 pseudo headers are not headers
            out.add(e.getKey(), value);
          }
        }
      }
    }
    if (!cookies.isEmpty()) {
      out.add("Cookie", String.join("; ", cookies));
    }
    xff.add(clientIp);
    out.set("X-Forwarded-For", String.join(", ", xff));
    out.set("X-Forwarded-Proto", "https");
    out.set("X-Forwarded-Host", host);
    forwarded.add("for=" + forwardedNode(clientIp) + ";proto=https;host="
        + quoteIfNeeded(host));
    out.set("Forwarded", String.join(", ", forwarded));
    return out;
  }

  /** The cookie pairs of one {@code Cookie} header that are not relaymesh's, in order. */
  static List<String> appCookies(String header) {
    List<String> kept = new ArrayList<>();
    for (String part : header.split(";")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
      if (!name.startsWith("__host-relaymesh") && !name.startsWith("relaymesh")) {
        kept.add(p);
      }
    }
    return kept;
  }

  /** The value of cookie {@code name} in the request's {@code Cookie} headers, or null. */
  public static String cookie(MultiMap headers, String name) {
    for (String h : headers.getAll("Cookie")) {
      for (String part : h.split(";")) {
        String p = part.trim();
        int eq = p.indexOf('=');
        if (eq > 0 && p.substring(0, eq).trim().equals(name)) {
          String v = p.substring(eq + 1).trim();
          if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
          }
          return v.isEmpty() ? null : v;
        }
      }
    }
    return null;
  }

  /** Whether an {@code Authorization} value is a bearer relaymesh token. */
  public static boolean isRelaymeshAuthorization(String value) {
    String token = bearer(value);
    if (token == null) {
      return false;
    }
    for (String prefix : TOKEN_PREFIXES) {
      if (token.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /** The token of {@code Bearer <token>}, or null. */
  static String bearer(String value) {
    if (value == null) {
      return null;
    }
    String v = value.trim();
    if (v.length() < 7 || !v.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String t = v.substring(7).trim();
    return t.isEmpty() ? null : t;
  }

  /**
   * {@code uri} (path and query) without query parameters whose (decoded) name starts with
   * {@code relaymesh_}; the other parameters are kept byte for byte, in order.
   */
  public static String stripQuery(String uri) {
    int q = uri.indexOf('?');
    if (q < 0) {
      return uri;
    }
    String[] params = uri.substring(q + 1).split("&", -1);
    List<String> kept = new ArrayList<>(params.length);
    boolean dropped = false;
    for (String p : params) {
      int eq = p.indexOf('=');
      String name = percentDecode(eq < 0 ? p : p.substring(0, eq)).toLowerCase(Locale.ROOT);
      if (name.startsWith("relaymesh_")) {
        dropped = true;
      } else {
        kept.add(p);
      }
    }
    if (!dropped) {
      return uri;
    }
    return kept.isEmpty() ? uri.substring(0, q) : uri.substring(0, q + 1) + String.join("&", kept);
  }

  /** Lenient {@code application/x-www-form-urlencoded} decoding (bad escapes kept as they are). */
  static String percentDecode(String s) {
    if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
      return s;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '+') {
        out.write(' ');
      } else if (c == '%' && i + 2 < s.length()
          && hex(s.charAt(i + 1)) >= 0 && hex(s.charAt(i + 2)) >= 0) {
        out.write(hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2)));
        i += 2;
      } else {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static int hex(char c) {
    return Character.digit(c, 16);
  }

  /** RFC 7239 node: an IPv6 address is bracketed and quoted. */
  static String forwardedNode(String ip) {
    if (ip.contains(":")) {
      String bracketed = ip.startsWith("[") ? ip : "[" + ip + "]";
      return "\"" + bracketed + "\"";
    }
    return ip;
  }

  /** A token as it is, anything else (e.g. {@code host:port}) as an RFC 7230 quoted string. */
  static String quoteIfNeeded(String v) {
    boolean token = !v.isEmpty();
    for (int i = 0; i < v.length() && token; i++) {
      char c = v.charAt(i);
      token = c > 32 && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
    }
    return token ? v : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
