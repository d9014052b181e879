package io.relaymesh.control.web;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.Services;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's browser UI: login/logout ({@link LoginPages}), the app sign-in step of the
 * browser app flow ({@link AppAuthPage}, docs/apps.md step 4), the dashboard
 * ({@link DashboardPage}) and its two static assets. Every HTML response carries the security
 * headers of {@link #securityHeaders}; every state-changing request must come from the control
 * plane's own origin.
 */
public final class WebUi {

  private static final Logger log = LoggerFactory.getLogger(WebUi.class);

  /** The Content-Security-Policy of every page: no inline script or style, no framing. */
  public static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";
  /** Form bodies are a few fields. */
  static final long FORM_LIMIT = 16 * 1024;

  private final Services s;
  private final WebSession session;

  public WebUi(Services s) {
    this.s = s;
    this.session = new WebSession(s);
  }

  /** Mounts the pages on {@code r}; call before the router's catch-all 404 route. */
  public void mount(Router r) {
    asset(r, "/static/app.css", "web/app.css", "text/css; charset=utf-8");
    asset(r, "/static/app.js", "web/app.js", "text/javascript; charset=utf-8");
    new LoginPages(s, session).mount(this, r);
    new AppAuthPage(s, session).mount(this, r);
    new DashboardPage(s, session).mount(this, r);
  }

  /** A GET page. */
  void get(Route route, Function<RoutingContext, Future<Page>> fn) {
    route.handler(ctx -> {
      ControlMetrics.route(ctx, route);
      run(ctx, fn);
    });
  }

  /** A form POST: body parsed, refused unless it comes from this origin. */
  void post(Route route, Function<RoutingContext, Future<Page>> fn) {
    route.handler(BodyHandler.create(false).setBodyLimit(FORM_LIMIT));
    route.handler(ctx -> {
      ControlMetrics.route(ctx, route);
      if (!session.sameOrigin(ctx)) {
        log.info("refused cross-origin {} {} (Origin {}, from {})", ctx.request().method(),
            ctx.request().path(), ctx.request().getHeader("Origin"), io.relaymesh.control.api.PasswordLogin.clientAddress(ctx));
        send(ctx, Page.status(403, Html.page("Request refused", null, Html.error(
            "This form was not sent from the Relaymesh control plane's own pages (cross-origin"
                + " request refused). Go back to the dashboard and try again.")
            + "<p><a href=\"/\">Dashboard</a></p>")));
        return;
      }
      run(ctx, fn);
    });
  }

  private void run(RoutingContext ctx, Function<RoutingContext, Future<Page>> fn) {
    Future<Page> f;
    try {
      f = fn.apply(ctx);
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onComplete(ar -> send(ctx, ar.succeeded() ? ar.result() : errorPage(ctx, ar.cause())));
  }

  private static Page errorPage(RoutingContext ctx, Throwable e) {
    if (e instanceof ControlException ce) {
      return Page.status(ce.status(), Html.page(title(ce.status()), null,
          Html.error(ce.getMessage()) + "<p><a href=\"/\">Dashboard</a></p>"));
    }
    log.error("{} {} failed", ctx.request().method(), ctx.request().path(), e);
    return Page.status(500, Html.page("Error", null,
        Html.error("Internal error; see the control-plane log.")));
  }

  private static String title(int status) {
    return switch (status) {
      case 400 -> "Bad request";
      case 401 -> "Not signed in";
      case 403 -> "Forbidden";
      case 404 -> "Not found";
      case 429 -> "Too many attempts";
      default -> "Error";
    };
  }

  static void send(RoutingContext ctx, Page p) {
    HttpServerResponse res = ctx.response();
    if (res.ended()) {
      return;
    }
    securityHeaders(res);
    res.setStatusCode(p.status());
    if (p.location() != null) {
      res.putHeader("Location", p.location()).end();
    } else {
      res.putHeader("Content-Type", "text/html; charset=utf-8").end(p.html());
    }
  }

  /** The headers of every HTML response. */
  static void securityHeaders(HttpServerResponse res) {
    res.putHeader("Content-Security-Policy", CSP)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "same-origin")
        .putHeader("Cache-Control", "no-store");
  }

  private static void asset(Router r, String path, String resource, String type) {
    Buffer body;
    try (InputStream in = WebUi.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      body = Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    r.get(path).handler(ctx -> ctx.response().putHeader("Content-Type", type)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Cache-Control", "public, max-age=300")
        .end(body));
  }
}
