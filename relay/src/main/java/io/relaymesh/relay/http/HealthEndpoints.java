package io.relaymesh.relay.http;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.util.function.Supplier;

/**
 * {@code GET /healthz} (process up), {@code GET /readyz} (registered with the control plane, TLS
 * loaded, not draining; else 503 naming the reason) and {@code GET /latency-check} (tiny,
 * CORS-open, {@code Timing-Allow-Origin: *}, never cached), for load balancers, Kubernetes probes
 * and the latency measurements of agents, CLIs and browsers.
 */
public final class HealthEndpoints {

  private final Supplier<String> notReadyReason;
  private final Supplier<JsonObject> identity;

  /**
   * @param notReadyReason why the relay is not ready, {@code null} when it is
   * @param identity region and replica, added to the readiness answer
   */
  public HealthEndpoints(Supplier<String> notReadyReason, Supplier<JsonObject> identity) {
    this.notReadyReason = notReadyReason;
    this.identity = identity;
  }

  /** Handles the request if it is one of the health paths; returns false otherwise. */
  public boolean handle(HttpServerRequest req) {
    switch (req.path()) {
      case "/healthz" -> {
        if (method(req)) {
          json(req, 200, new JsonObject().put("status", "ok"));
        }
      }
      case "/readyz" -> {
        if (method(req)) {
          String reason = notReadyReason.get();
          if (reason == null) {
            json(req, 200, identity.get().put("status", "ready"));
          } else {
            JsonErrors.send(req, 503, "not_ready", reason);
          }
        }
      }
      case "/latency-check" -> latency(req);
      default -> {
        return false;
      }
    }
    return true;
  }

  private static void latency(HttpServerRequest req) {
    var r = req.response()
        .putHeader("Access-Control-Allow-Origin", "*")
        .putHeader("Timing-Allow-Origin", "*")
        .putHeader("Cache-Control", "no-store");
    if (req.method() == HttpMethod.OPTIONS) {
      r.setStatusCode(204).putHeader("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
          .putHeader("Access-Control-Max-Age", "86400").end();
    } else if (method(req)) {
      r.putHeader("Content-Type", "text/plain").end("ok");
    }
  }

  private static boolean method(HttpServerRequest req) {
    if (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD) {
      return true;
    }
    req.response().putHeader("Allow", "GET, HEAD");
    JsonErrors.send(req, 405, "method_not_allowed", req.method() + " is not allowed on "
        + req.path());
    return false;
  }

  private static void json(HttpServerRequest req, int status, JsonObject body) {
    req.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store").end(body.encode());
  }
}
