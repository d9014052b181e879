package io.relaymesh.relay.http;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

/** The relay's HTTP error shape, the same as the control plane's: {@code {"code","message"}}. */
public final class JsonErrors {
  private JsonErrors() {}

  /** Answers {@code status} with {@code {"code", "message"}} and closes the exchange. */
  public static void send(HttpServerRequest req, int status, String code, String message) {
    HttpServerResponse r = req.response();
    if (r.ended() || r.closed()) {
      return;
    }
    r.setStatusCode(status).putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store");
    if (status == 401) {
      r.putHeader("WWW-Authenticate", "Bearer");
    }
    if (req.headers().contains("Upgrade")) {
      r.putHeader("Connection", "close"); // a refused upgrade: do not keep the connection around
    }
    r.end(new JsonObject().put("code", code).put("message", message).encode());
  }

  /** The bearer token of {@code Authorization}, or {@code null}. */
  public static String bearer(HttpServerRequest req) {
    String h = req.getHeader("Authorization");
    if (h == null || h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String t = h.substring(7).trim();
    return t.isEmpty() ? null : t;
  }
}
