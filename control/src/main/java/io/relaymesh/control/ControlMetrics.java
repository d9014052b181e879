package io.relaymesh.control;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.relaymesh.telemetry.Metrics;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The control plane's meters (docs/metrics.md, "Control plane"), one set per
 * {@link ControlServer}: HTTP requests by route template, failed logins, issued tickets and the
 * registered relays by health. The database meters live in {@code store.Db}.
 *
 * <p>Label values are fixed lists or route templates ({@code /api/v1/workspaces/:owner/:name}),
 * never a raw path: paths carry user and workspace names. Thread-safe.
 */
public final class ControlMetrics {

  /** The routing-context key holding the route template of the request. */
  public static final String ROUTE_KEY = "relaymesh.route";
  /** The route label of requests no route handled (404s, body limit refusals). */
  public static final String UNMATCHED = "unmatched";

  /** Failed-login reasons. */
  public static final String BAD_PASSWORD = "bad-password";
  public static final String UNKNOWN_USER = "unknown-user";
  public static final String RATE_LIMITED = "rate-limited";
  public static final String BAD_REQUEST = "bad-request";
  private static final List<String> LOGIN_REASONS =
      List.of(BAD_PASSWORD, UNKNOWN_USER, RATE_LIMITED, BAD_REQUEST);

  /** Issued ticket / token types. */
  public static final String CLIENT_TICKET = "client";
  public static final String PEER_TICKET = "peer";
  public static final String APP_TOKEN = "app";
  private static final List<String> TICKET_TYPES = List.of(CLIENT_TICKET, PEER_TICKET, APP_TOKEN);

  private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE",
      "PATCH", "OPTIONS");
  private static final Duration[] BUCKETS = {
      Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
      Duration.ofSeconds(10)};

  private final Metrics metrics;
  private final MeterRegistry registry;
  private final Map<String, Counter> loginFailures = new ConcurrentHashMap<>();
  private final Map<String, Counter> tickets = new ConcurrentHashMap<>();
  private final Map<String, Timer> requests = new ConcurrentHashMap<>();
  private final AtomicLong healthyRelays = new AtomicLong();
  private final AtomicLong unhealthyRelays = new AtomicLong();

  public ControlMetrics(Metrics metrics) {
    this.metrics = metrics;
    this.registry = metrics.registry();
    for (String r : LOGIN_REASONS) {
      loginFailures.put(r, Counter.builder("relaymesh.control.login.failures")
          .description("failed logins (API and web) by reason").tag("reason", r)
          .register(registry));
    }
    for (String t : TICKET_TYPES) {
      tickets.put(t, Counter.builder("relaymesh.control.tickets.issued")
          .description("signed tickets and tokens issued by type").tag("type", t)
          .register(registry));
    }
    Gauge.builder("relaymesh.control.relays", healthyRelays, AtomicLong::get)
        .description("registered relay replicas by health").tag("health", "healthy")
        .register(registry);
    Gauge.builder("relaymesh.control.relays", unhealthyRelays, AtomicLong::get)
        .description("registered relay replicas by health").tag("health", "unhealthy")
        .register(registry);
  }

  /** The process's metrics (registry and exposition). */
  public Metrics metrics() {
    return metrics;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Counts a failed login; {@code reason} is one of the constants above. */
  public void loginFailed(String reason) {
    Counter c = loginFailures.get(reason);
    if (c == null) {
      throw new IllegalArgumentException("unknown login failure reason " + reason);
    }
    c.increment();
  }

  /** Counts an issued ticket or token; {@code type} is one of the constants above. */
  public void ticketIssued(String type) {
    Counter c = tickets.get(type);
    if (c == null) {
      throw new IllegalArgumentException("unknown ticket type " + type);
    }
    c.increment();
  }

  /** Sets the relay gauges (from the database, refreshed before each scrape). */
  public void relays(long healthy, long unhealthy) {
    healthyRelays.set(healthy);
    unhealthyRelays.set(unhealthy);
  }

  /** Records the route template of the request being handled (call at a handler's entry). */
  public static void route(RoutingContext ctx, Route route) {
    if (route != null && route.getPath() != null && ctx.get(ROUTE_KEY) == null) {
      ctx.put(ROUTE_KEY, route.getPath());
    }
  }

  /**
   * The first handler of the router: times each request and records it under its route
   * template, method and status once the response is done. A route that answers without
   * failing is found by itself; a handler that may fail first names its route with
   * {@link #route}; anything else is {@value #UNMATCHED}.
   */
  public Handler<RoutingContext> requestTimer() {
    return ctx -> {
      long t0 = System.nanoTime();
      ctx.addHeadersEndHandler(v -> {
        if (!ctx.failed()) {
          route(ctx, ctx.currentRoute());
        }
      });
      ctx.addEndHandler(ar -> {
        String route = ctx.get(ROUTE_KEY);
        // Vert.x may report "connection closed" for a response that did end: what counts is
        // whether the answer was complete
        String status = ar.succeeded() || ctx.response().ended()
            ? Integer.toString(ctx.response().getStatusCode()) : "closed";
        String method = method(ctx.request().method());
        requestTimer(route == null ? UNMATCHED : route, method, status)
            .record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
      });
      ctx.next();
    };
  }

  private static String method(HttpMethod m) {
    String name = m == null ? "" : m.name();
    return METHODS.contains(name) ? name : "other";
  }

  private Timer requestTimer(String route, String method, String status) {
    return requests.computeIfAbsent(route + ' ' + method + ' ' + status,
        k -> Timer.builder("relaymesh.control.http.request")
            .description("HTTP requests served by route template, method and status")
            .tags("route", route, "method", method, "status", status)
            .serviceLevelObjectives(BUCKETS)
            .register(registry));
  }
}
