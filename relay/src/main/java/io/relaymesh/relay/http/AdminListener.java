package io.relaymesh.relay.http;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.TimeUnit;

/**
 * The relay's optional plain-HTTP admin listener ({@code relay.admin-listen}, meant for a private
 * network such as the pod network): {@code GET /metrics}, {@code /healthz}, {@code /readyz} and
 * {@code /debug/consistency} (still requiring the region token); any other path is {@code 404}.
 * With it, the public TLS listener no longer serves {@code /metrics} and
 * {@code /debug/consistency}. It is closed last when the relay stops, so that {@code /readyz}
 * answers 503 throughout a drain.
 *
 * <pre>{@code
 * AdminListener admin = AdminListener.start(vertx, "0.0.0.0:9090", health, consistency,
 *     metrics.metrics()::handle).await();
 * admin.port(); admin.url();   // http://0.0.0.0:9090
 * admin.close();
 * }</pre>
 */
public final class AdminListener {

  /** The setting, as error messages name it. */
  public static final String SETTING = "relay.admin-listen";
  static final String METRICS = "/metrics";

  private final HttpServer server;
  private final String host;

  private AdminListener(HttpServer server, String host) {
    this.server = server;
    this.host = host;
  }

  /**
   * Listens on {@code address} ({@code host:port}, {@code [v6]:port}; port 0: any free port).
   * Fails with an {@link IllegalArgumentException} naming {@value #SETTING} when it cannot listen
   * (port taken, unknown address).
   *
   * @param metrics answers {@code GET /metrics}
   */
  public static Future<AdminListener> start(Vertx vertx, String address, HealthEndpoints health,
      ConsistencyEndpoint consistency, Handler<HttpServerRequest> metrics) {
    String host;
    int port;
    try {
      int colon = address.lastIndexOf(':');
      host = address.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (RuntimeException e) {
      return Future.failedFuture(new IllegalArgumentException(SETTING
          + ": expected host:port, got \"" + address + "\""));
    }
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port)
        .setTcpNoDelay(true).setIdleTimeout(60).setIdleTimeoutUnit(TimeUnit.SECONDS));
    server.requestHandler(req -> route(req, health, consistency, metrics));
    String shownHost = host;
    return server.listen()
        .recover(e -> Future.failedFuture(new IllegalArgumentException(SETTING
            + ": cannot listen on " + address + ": " + message(e), e)))
        .map(s -> new AdminListener(s, shownHost));
  }

  static void route(HttpServerRequest req, HealthEndpoints health,
      ConsistencyEndpoint consistency, Handler<HttpServerRequest> metrics) {
    String path = req.path() == null ? "" : req.path();
    switch (path) {
      case "/healthz", "/readyz" -> health.handle(req);
      case METRICS -> metrics.handle(req);
      case ConsistencyEndpoint.PATH -> consistency.handle(req, false);
      default -> JsonErrors.send(req, 404, "not_found", "no such endpoint: " + path
          + " (the admin listener serves /metrics, /healthz, /readyz, "
          + ConsistencyEndpoint.PATH + ")");
    }
  }

  private static String message(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  /** The port it listens on (the bound one when the address asked for port 0). */
  public int port() {
    return server.actualPort();
  }

  /** {@code http://host:port} of the listener (the host as configured). */
  public String url() {
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port();
  }

  /** Stops listening; open connections are closed. */
  public Future<Void> close() {
    return server.close();
  }
}
