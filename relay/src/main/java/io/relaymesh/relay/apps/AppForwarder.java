package io.relaymesh.relay.apps;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;

/**
 * The HTTP data path of workspace apps: forwards one authorized browser request to a loopback
 * port of an agent over a tunnel stream. SKELETON: the relay-engine helper implements it.
 */
public final class AppForwarder {

  public AppForwarder(io.vertx.core.Vertx vertx, io.relaymesh.relay.tunnel.Tunnels tunnels,
      io.relaymesh.relay.control.Reporter reporter) {}

  /**
   * Forwards {@code req} (paused by the caller; this resumes it) to {@code target}, sending
   * {@code uri} (path and query, credentials already stripped) and {@code headers} (already
   * without relaymesh credentials and with X-Forwarded-*; hop-by-hop headers are removed here).
   * Completes when the exchange is over; fails with {@link AppProxyException} when nothing was
   * written to the response yet.
   */
  public Future<Void> forward(HttpServerRequest req, String uri, MultiMap headers,
      AppTarget target) {
    return Future.failedFuture(new AppProxyException(502, "not_built", "app forwarding is being built"));
  }
}
