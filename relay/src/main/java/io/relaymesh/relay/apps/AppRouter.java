package io.relaymesh.relay.apps;

import io.relaymesh.control.apps.AppHost;
import io.relaymesh.relay.control.ControlException;
import io.relaymesh.relay.tunnel.AgentRegistry;
import io.relaymesh.relay.tunnel.AgentTunnel;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of workspace apps on the relay (docs/apps.md): a request whose host (HTTP/1
 * {@code Host}, HTTP/2 {@code :authority}) is a subdomain of {@code relay.apps-host} is an app
 * request and never reaches the relay's own endpoints. It is paused at once, then: the name is
 * parsed ({@code 400} page when malformed); {@code /.relaymesh/callback} finishes the browser
 * login (handoff code -> app cookie -> local redirect) and nothing under {@code /.relaymesh/}
 * reaches the app; the app is resolved at the control plane ({@code 404}/{@code 503}); the
 * caller is authorized ({@link AppAuth}; no credential: browser navigations are redirected to
 * the control plane's login, others get {@code 401}); relaymesh credentials are stripped and
 * forwarding headers added ({@link AppHeaders}); then the request goes to the agent's tunnel
 * through the {@link AppForwarder}, or, when another relay holds the agent, through that relay
 * (which verifies the app token again).
 *
 * <p>Threading: {@link #handle} on the request's event loop; every asynchronous step hops back
 * to it.
 */
public final class AppRouter {

  private static final Logger LOG = LoggerFactory.getLogger(AppRouter.class);
  /** The relay's reserved path prefix on app hosts. */
  public static final String RESERVED = "/.relaymesh/";
  public static final String CALLBACK = RESERVED + "callback";

  private final Vertx vertx;
  private final String appsHost;
  private final AppsControl control;
  private final AppAuth auth;
  private final AgentRegistry registry;
  private final AppForwarder forwarder;
  private final String relayName;
  private volatile io.relaymesh.relay.metrics.RelayMetrics metrics;

  /**
   * @param appsHost {@code relay.apps-host} (null: apps disabled, {@link #handle} never claims a
   *     request)
   * @param relayName {@code region/replica}, for error pages
   */
  public AppRouter(Vertx vertx, String appsHost, AppsControl control, AppAuth auth,
      AgentRegistry registry, AppForwarder forwarder, String relayName) {
    this.vertx = vertx;
    this.appsHost = appsHost;
    this.control = control;
    this.auth = auth;
    this.registry = registry;
    this.forwarder = forwarder;
    this.relayName = relayName;
  }

  /** Counts app requests by status and refusals by reason in {@code m}. */
  public AppRouter metrics(io.relaymesh.relay.metrics.RelayMetrics m) {
    this.metrics = m;
    return this;
  }

  private void refused(String reason) {
    io.relaymesh.relay.metrics.RelayMetrics m = metrics;
    if (m != null) {
      m.appRefused(reason);
    }
  }

  private void counted(HttpServerRequest req) {
    io.relaymesh.relay.metrics.RelayMetrics m = metrics;
    if (m != null) {
      req.response().endHandler(v -> m.appRequest(req.response().getStatusCode()));
    }
  }

  /** The {@code reason} of an app request the forwarder could not forward. */
  static String refusalReason(AppProxyException e) {
    return switch (e.code()) {
      case "agent_not_connected" -> "agent-offline";
      case "relay_unreachable" -> "relay-unreachable";
      case "forbidden" -> "forbidden";
      case "app_unreachable" -> "upstream-refused";
      case "app_timeout", "upstream_timeout" -> "upstream-timeout";
      case "bad_request" -> "bad-request";
      case "bad_upstream_response", "upstream_tls_failed" -> "upstream-error";
      default -> e.status() == 504 ? "upstream-timeout" : "error";
    };
  }

  /** Handles {@code req} when it is for an app host; false when it is not (relay endpoints). */
  public boolean handle(HttpServerRequest req) {
    if (appsHost == null) {
      return false;
    }
    String host = host(req);
    AppHost app;
    try {
      app = parse(host);
    } catch (IllegalArgumentException e) {
      req.pause();
      counted(req);
      refused("bad-host");
      AppPages.error(req, 400, "bad_app_name", "Not an app address", "'" + abbreviate(host)
          + "' is not a valid app address on this relay: " + e.getMessage()
          + ". App addresses look like 8080--main--dev--alice." + appsHost + ".", null, footer());
      return true;
    }
    if (app == null) {
      return false;
    }
    req.pause(); // the body must wait for the checks below
    counted(req);
    Context ctx = vertx.getOrCreateContext();
    String path = req.path() == null ? "" : req.path();
    if (isReserved(path)) {
      if (CALLBACK.equals(path) && (req.method() == HttpMethod.GET
          || req.method() == HttpMethod.HEAD)) {
        callback(ctx, req, app, host);
      } else {
        refused("reserved-path");
        AppPages.error(req, 404, "not_found", "Not found", "nothing is served under "
            + RESERVED + " on app hosts: the relay reserves it for signing in", null, footer());
      }
      return true;
    }
    on(ctx, control.resolve(app.label())).onComplete(ar -> {
      if (ar.failed()) {
        resolveFailed(req, app, ar.cause());
        return;
      }
      AppsControl.Resolved resolved = ar.result();
      String cookieName = cookieName(host);
      on(ctx, auth.decide(req, app, resolved, cookieName)).onComplete(d -> {
        if (d.failed()) {
          LOG.warn("app {}: authorization failed: {}", app.label(), d.cause().toString());
          refused("error");
          AppPages.error(req, 500, "internal", "Relay error", "the relay could not check who"
              + " you are for app " + app.label(), null, footer());
          return;
        }
        decided(req, app, host, resolved, d.result());
      });
    });
    return true;
  }

  private void decided(HttpServerRequest req, AppHost app, String host,
      AppsControl.Resolved resolved, AppAuth.Decision d) {
    if (d.setCookie() != null) {
      req.response().headers().add("Set-Cookie", d.setCookie());
    }
    if (d.allowed()) {
      forward(req, app, host, resolved, d.username(), d.appToken());
      return;
    }
    if (d.status() == 0) {
      refused("unauthenticated");
      if (AppPages.isBrowserNavigation(req) && resolved.authUrl() != null) {
        AppPages.redirect(req, resolved.authUrl() + "?host=" + encode(host) + "&path="
            + encode(req.uri()));
      } else {
        AppPages.error(req, 401, "unauthenticated", "Sign-in required", "app " + app.label()
            + " needs a relaymesh sign-in: send 'Authorization: Bearer <session token>' or"
            + " 'Relaymesh-Session-Token: <session token>', or open it in a browser", null,
            footer());
      }
      return;
    }
    // one line per refusal; an outage (503) is a warning, with its cause
    LOG.atLevel(d.status() >= 500 ? org.slf4j.event.Level.WARN : org.slf4j.event.Level.INFO)
        .log("app {}: request from {} refused: {} {}{}", app.label(), clientIp(req), d.status(),
            d.code(), d.logDetail() == null ? "" : " (" + d.logDetail() + ")");
    refused(switch (d.status()) {
      case 401 -> "unauthenticated";
      case 403 -> "forbidden";
      case 503 -> "control-unavailable";
      default -> "error";
    });
    String title = switch (d.status()) {
      case 401 -> "Sign-in required";
      case 403 -> "Access denied";
      case 503 -> "Temporarily unavailable";
      default -> "Error";
    };
    AppPages.error(req, d.status(), d.code(), title, d.message(), null, footer());
  }

  private void forward(HttpServerRequest req, AppHost app, String host,
      AppsControl.Resolved resolved, String username, String appToken) {
    AgentTunnel tunnel = registry.pick(resolved.agentId());
    if (tunnel == null && !forwarder.forwards()) {
      refused("agent-offline");
      AppPages.error(req, 502, "agent_not_connected", "Agent not connected", "agent '"
          + resolved.agent() + "' of workspace " + resolved.workspaceFullName()
          + " is not connected to relay " + relayName + "; start it, or wait until it"
          + " reconnects", null, footer());
      return;
    }
    String clientIp = clientIp(req);
    MultiMap headers = AppHeaders.upstream(req.headers(), clientIp, host);
    String uri = AppHeaders.stripQuery(req.uri());
    // not held here: forwarded to the relay holding the agent, which checks the app token again
    AppTarget target = new AppTarget(tunnel, resolved.agentId(), app.label(), resolved.port(),
        resolved.https(), username, resolved.workspaceFullName(), resolved.agent(), clientIp,
        appToken);
    Future<Void> done;
    try {
      done = forwarder.forward(req, uri, headers, target);
    } catch (RuntimeException e) {
      done = Future.failedFuture(e);
    }
    done.onFailure(e -> {
      if (e instanceof AppProxyException pe) {
        refused(refusalReason(pe));
        LOG.info("app {}: request of {} from {} failed: {} {}", app.label(),
            username == null ? "anonymous" : username, clientIp, pe.status(), pe.code());
        AppPages.error(req, pe.status(), pe.code(), title(pe.status()), pe.getMessage(), null,
            footer());
      } else {
        LOG.warn("app {}: forwarding failed: {}", app.label(), e.toString());
        refused("error");
        AppPages.error(req, 502, "bad_gateway", "Bad gateway", "the relay could not forward"
            + " the request to app " + app.label(), null, footer());
      }
    });
  }

  private static String title(int status) {
    return switch (status) {
      case 403 -> "Access denied";
      case 502 -> "App unreachable";
      case 504 -> "App timed out";
      case 503 -> "Temporarily unavailable";
      default -> "Error";
    };
  }

  private void callback(Context ctx, HttpServerRequest req, AppHost app, String host) {
    String code = req.getParam("code");
    String path = safeLocalPath(req.getParam("path"));
    if (code == null || code.isBlank()) {
      refused("handoff-invalid");
      AppPages.error(req, 400, "handoff_missing", "Sign-in link incomplete", "this sign-in link"
          + " has no code; open the app again to sign in", new AppPages.Link(path,
          "Open the app"), footer());
      return;
    }
    on(ctx, control.handoff(app.label(), code)).onComplete(ar -> {
      if (ar.succeeded()) {
        req.response().headers().add("Set-Cookie",
            AppAuth.setCookie(AppAuth.cookieName(host), ar.result()));
        LOG.info("app {}: {} signed in through the browser flow", app.label(),
            ar.result().username());
        AppPages.redirect(req, path);
        return;
      }
      if (ar.cause() instanceof ControlException ce && ce.status() == 403) {
        refused("forbidden");
        AppPages.error(req, 403, ce.code(), "Access denied", AppsControl.reason(ce), null,
            footer());
      } else if (ar.cause() instanceof ControlException ce && ce.status() >= 400
          && ce.status() < 500) {
        refused("handoff-invalid");
        AppPages.error(req, 401, ce.code(), "Sign-in link invalid", "this sign-in link is"
            + " invalid, already used or expired (they are valid once, for 60 seconds); open the"
            + " app again to sign in", new AppPages.Link(path, "Open the app again"), footer());
      } else {
        LOG.warn("app {}: handoff failed: {}", app.label(), ar.cause().getMessage());
        refused("control-unavailable");
        AppPages.error(req, 503, "control_plane_unavailable", "Temporarily unavailable",
            "the relay cannot reach the control plane to finish signing in; try again shortly",
            new AppPages.Link(path, "Open the app again"), footer());
      }
    });
  }

  private void resolveFailed(HttpServerRequest req, AppHost app, Throwable e) {
    if (e instanceof ControlException ce && ce.status() == 404) {
      refused("unknown-app");
      AppPages.error(req, 404, ce.code(), "App not found",
          AppsControl.reason(ce), null, footer());
    } else if (e instanceof ControlException ce && ce.status() >= 400 && ce.status() < 500) {
      refused(ce.status() == 403 ? "forbidden" : "bad-host");
      AppPages.error(req, ce.status(), ce.code(), ce.status() == 403 ? "Not allowed"
          : "Bad app address", AppsControl.reason(ce), null, footer());
    } else {
      LOG.warn("app {}: cannot resolve: {}", app.label(), e.getMessage());
      refused("control-unavailable");
      AppPages.error(req, 503, "control_plane_unavailable", "Temporarily unavailable",
          "relay " + relayName + " cannot reach the control plane to look up app "
              + app.label() + "; try again shortly", null, footer());
    }
  }

  /**
   * {@code path} when it is a local path ({@code /...}, not {@code //} or {@code /\}, no control
   * characters or spaces), else {@code /}: the callback never redirects off the app host.
   */
  static String safeLocalPath(String path) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/' || path.length() > 8192) {
      return "/";
    }
    if (path.startsWith("//") || path.startsWith("/\\")) {
      return "/";
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c <= 0x20 || c == 0x7f || c > 0x7e) {
        return "/"; // browsers drop tabs/newlines ("/\t/evil" -> "//evil"); no raw non-ASCII
      }
    }
    return path;
  }

  /** Whether {@code path} (percent-decoded, case-insensitive) is under {@code /.relaymesh/}. */
  static boolean isReserved(String path) {
    String p = AppHeaders.percentDecode(path.replace("+", "%2B")).toLowerCase(Locale.ROOT);
    return p.startsWith(RESERVED) || p.equals("/.relaymesh");
  }

  /** The host the browser asked for: {@code :authority} / {@code Host}, with its port. */
  static String host(HttpServerRequest req) {
    HostAndPort a = req.authority();
    if (a != null && a.host() != null) {
      return a.port() >= 0 ? a.host() + ":" + a.port() : a.host();
    }
    return req.getHeader("Host");
  }

  private static String clientIp(HttpServerRequest req) {
    SocketAddress remote = req.remoteAddress();
    if (remote == null) {
      return "unknown";
    }
    return remote.hostAddress() != null ? remote.hostAddress() : remote.toString();
  }

  private String footer() {
    return "relaymesh relay " + relayName;
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "";
    }
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  /**
   * App names parsed from hosts, and their cookie names: every request of a browser names the
   * same host, and parsing it (and hashing it for the cookie name) each time showed in the
   * profile. Bounded: cleared when full (a flood of distinct valid names only costs parsing).
   */
  private final Map<String, AppHost> parsed = new ConcurrentHashMap<>();
  private final Map<String, String> cookieNames = new ConcurrentHashMap<>();
  static final int MAX_CACHED_HOSTS = 4096;

  /** {@link AppHost#fromHost} of {@code host} on this relay's apps host, cached. */
  private AppHost parse(String host) {
    if (host == null) {
      return AppHost.fromHost(null, appsHost);
    }
    AppHost app = parsed.get(host);
    if (app == null) {
      app = AppHost.fromHost(host, appsHost); // throws for a malformed name: not cached
      if (app != null) {
        if (parsed.size() >= MAX_CACHED_HOSTS) {
          parsed.clear();
        }
        parsed.put(host, app);
      }
    }
    return app;
  }

  private String cookieName(String host) {
    String name = cookieNames.get(host);
    if (name == null) {
      name = AppAuth.cookieName(host);
      if (cookieNames.size() >= MAX_CACHED_HOSTS) {
        cookieNames.clear();
      }
      cookieNames.put(host, name);
    }
    return name;
  }

  /**
   * {@code f}, completed on {@code ctx}: without a hop when it is already complete and this is
   * {@code ctx} (a cached resolution, a public share), else on {@code ctx}'s next turn.
   */
  private static <T> Future<T> on(Context ctx, Future<T> f) {
    if (f.isComplete() && Vertx.currentContext() == ctx) {
      // a new future without a context: its handlers run here, now
      return f.succeeded() ? Future.succeededFuture(f.result())
          : Future.failedFuture(f.cause());
    }
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> ctx.runOnContext(v -> p.handle(ar)));
    return p.future();
  }
}
