package io.relaymesh.relay.apps;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Hop-by-hop header handling (RFC 9110 §7.6.1) for the app proxy: {@code Connection} and every
 * header it names, {@code Keep-Alive}, {@code Proxy-Connection}, {@code Proxy-Authenticate},
 * {@code Proxy-Authorization}, {@code TE}, {@code Trailer}, {@code Transfer-Encoding} and
 * {@code Upgrade} are removed in both directions, except the {@code Upgrade}/{@code Connection}
 * pair of a WebSocket upgrade (re-added as {@code Upgrade: websocket},
 * {@code Connection: Upgrade}). HTTP/2 pseudo-headers never pass.
 *
 * <p>Threading: stateless.
 */
final class HopByHop {

  /** Lower case; compared ignoring case (no lower-casing, no allocation per header). */
  private static final String[] ALWAYS = {"connection", "keep-alive", "proxy-connection",
      "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
      "upgrade"};

  private HopByHop() {}

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers. With {@code webSocket} the
   * upgrade pair is kept as {@code Upgrade: websocket} and {@code Connection: Upgrade}.
   */
  static void copy(Iterable<Map.Entry<String, String>> from, HttpHeaders to, boolean webSocket) {
    copy(from, (name, value) -> to.add(name, value), webSocket);
    if (webSocket) {
      to.set(HttpHeaderNames.UPGRADE, "websocket");
      to.set(HttpHeaderNames.CONNECTION, "Upgrade");
    }
  }

  /**
   * Hands every header of {@code from} that is not hop-by-hop to {@code to}, in order (with
   * {@code webSocket}, the {@code Sec-WebSocket-*} headers a {@code Connection} names pass; the
   * upgrade pair itself is the caller's to add).
   */
  static void copy(Iterable<Map.Entry<String, String>> from, BiConsumer<String, String> to,
      boolean webSocket) {
    Set<String> named = null; // lower case; only for names that are not always removed anyway
    for (Map.Entry<String, String> e : from) {
      if (e.getKey().equalsIgnoreCase("connection")) {
        for (String token : e.getValue().split(",")) {
          String t = token.trim().toLowerCase(Locale.ROOT);
          if (!t.isEmpty() && !isAlways(t)) {
            if (named == null) {
              named = new HashSet<>(4);
            }
            named.add(t);
          }
        }
      }
    }
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (name.startsWith(":") || isAlways(name)) {
        continue;
      }
      if (named != null && named.contains(name.toLowerCase(Locale.ROOT))
          && !(webSocket && name.regionMatches(true, 0, "sec-websocket-", 0, 14))) {
        continue;
      }
      to.accept(name, e.getValue());
    }
  }

  /** Whether {@code name} (any case) is removed whatever {@code Connection} says. */
  static boolean isAlways(String name) {
    int n = name.length();
    for (String a : ALWAYS) {
      if (a.length() == n && a.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** True when {@code headers} ask for a WebSocket upgrade ({@code Upgrade: websocket}). */
  static boolean isWebSocketUpgrade(String method, Iterable<Map.Entry<String, String>> headers) {
    if (!"GET".equals(method)) {
      return false;
    }
    boolean upgrade = false;
    boolean connection = false;
    for (Map.Entry<String, String> e : headers) {
      String k = e.getKey();
      if (k.equalsIgnoreCase("upgrade")
          && e.getValue().toLowerCase(Locale.ROOT).contains("websocket")) {
        upgrade = true;
      } else if (k.equalsIgnoreCase("connection")
          && e.getValue().toLowerCase(Locale.ROOT).contains("upgrade")) {
        connection = true;
      }
    }
    return upgrade && connection;
  }

  /** True when a {@code Connection} header of {@code headers} holds the token {@code close}. */
  static boolean saysClose(Iterable<Map.Entry<String, String>> headers) {
    for (Map.Entry<String, String> e : headers) {
      if (e.getKey().equalsIgnoreCase("connection")) {
        for (String token : e.getValue().split(",")) {
          if (token.trim().equalsIgnoreCase("close")) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
