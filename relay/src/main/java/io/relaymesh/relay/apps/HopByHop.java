package io.relaymesh.relay.apps;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

  private static final Set<String> ALWAYS = Set.of("connection", "keep-alive", "proxy-connection",
      "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
      "upgrade");

  private HopByHop() {}

  /**
   * Copies {@code from} into {@code to} without hop-by-hop headers. With {@code webSocket} the
   * upgrade pair is kept as {@code Upgrade: websocket} and {@code Connection: Upgrade}.
   */
  static void copy(Iterable<Map.Entry<String, String>> from, HttpHeaders to, boolean webSocket) {
    Set<String> named = new HashSet<>();
    for (Map.Entry<String, String> e : from) {
      if (e.getKey().equalsIgnoreCase("connection")) {
        for (String token : e.getValue().split(",")) {
          String t = token.trim().toLowerCase(Locale.ROOT);
          if (!t.isEmpty()) {
            named.add(t);
          }
        }
      }
    }
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (name.startsWith(":") || ALWAYS.contains(name)) {
        continue;
      }
      if (named.contains(name) && !(webSocket && name.startsWith("sec-websocket-"))) {
        continue;
      }
      to.add(e.getKey(), e.getValue());
    }
    if (webSocket) {
      to.set(HttpHeaderNames.UPGRADE, "websocket");
      to.set(HttpHeaderNames.CONNECTION, "Upgrade");
    }
  }

  /** True when {@code headers} ask for a WebSocket upgrade ({@code Upgrade: websocket}). */
  static boolean isWebSocketUpgrade(String method, Iterable<Map.Entry<String, String>> headers) {
    if (!"GET".equals(method)) {
      return false;
    }
    boolean upgrade = false;
    boolean connection = false;
    for (Map.Entry<String, String> e : headers) {
      String v = e.getValue().toLowerCase(Locale.ROOT);
      if (e.getKey().equalsIgnoreCase("upgrade") && v.contains("websocket")) {
        upgrade = true;
      } else if (e.getKey().equalsIgnoreCase("connection") && v.contains("upgrade")) {
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
