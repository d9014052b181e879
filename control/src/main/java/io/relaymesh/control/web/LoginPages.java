package io.relaymesh.control.web;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.PasswordLogin;
import io.relaymesh.control.api.Services;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /login} (the form; {@code next} is a local path to return to), {@code POST /login}
 * (password login with the API's rate limits, sets the session cookie) and {@code POST /logout}
 * (revokes the session, clears the cookie).
 */
final class LoginPages {

  private static final Logger log = LoggerFactory.getLogger(LoginPages.class);

  private final Services s;
  private final WebSession session;
  private final PasswordLogin logins;

  LoginPages(Services s, WebSession session) {
    this.s = s;
    this.session = session;
    this.logins = new PasswordLogin(s);
  }

  void mount(WebUi ui, Router r) {
    ui.get(r.get("/login"), this::form);
    ui.post(r.post("/login"), this::login);
    ui.post(r.post("/logout"), this::logout);
  }

  /** The login URL that returns to {@code next} afterwards. */
  static String loginUrl(String next) {
    String n = WebSession.localPath(next);
    return n.equals("/") ? "/login" : "/login?next=" + Html.urlEncode(n);
  }

  private Future<Page> form(RoutingContext ctx) {
    String next = WebSession.localPath(ctx.queryParams().get("next"));
    return session.user(ctx).map(u -> u != null
        ? Page.found(next)
        : Page.ok(render(next, "", null)));
  }

  private Future<Page> login(RoutingContext ctx) {
    String next = WebSession.localPath(ctx.request().getFormAttribute("next"));
    String username = ctx.request().getFormAttribute("username");
    String password = ctx.request().getFormAttribute("password");
    if (username == null || username.isBlank() || password == null || password.isEmpty()) {
      s.metrics().loginFailed(ControlMetrics.BAD_REQUEST);
      return Future.succeededFuture(Page.status(400, render(next, username,
          "Enter your user name and password.")));
    }
    String name = username.strip();
    return logins.login(name, password, io.relaymesh.control.api.PasswordLogin.clientAddress(ctx))
        .map(sess -> {
          session.start(ctx, sess);
          log.info("user '{}' signed in to the dashboard from {}", sess.user().username(),
              io.relaymesh.control.api.PasswordLogin.clientAddress(ctx));
          return Page.seeOther(next);
        })
        .recover(e -> {
          if (e instanceof ControlException ce && ce.status() < 500) {
            String message = ce.status() == 401 ? "Wrong user name or password." : ce.getMessage();
            return Future.succeededFuture(Page.status(ce.status(), render(next, name, message)));
          }
          return Future.failedFuture(e);
        });
  }

  private Future<Page> logout(RoutingContext ctx) {
    String next = ctx.request().getFormAttribute("next");
    return session.user(ctx)
        .compose(u -> {
          if (u == null) {
            return Future.succeededFuture();
          }
          log.info("user '{}' signed out of the dashboard", u.username());
          return s.sessions().revoke(u.sessionId());
        })
        .map(x -> {
          session.clear(ctx);
          return Page.seeOther(loginUrl(next));
        });
  }

  private static String render(String next, String username, String error) {
    StringBuilder b = new StringBuilder();
    if (error != null) {
      b.append(Html.error(error));
    }
    b.append("<form method=\"post\" action=\"/login\" class=\"login\">\n")
        .append("<input type=\"hidden\" name=\"next\" value=\"").append(Html.escape(next))
        .append("\">\n<p><label for=\"username\">User name</label>\n")
        .append("<input id=\"username\" name=\"username\" autocomplete=\"username\" required")
        .append(" autofocus autocapitalize=\"none\" spellcheck=\"false\" value=\"")
        .append(Html.escape(username == null ? "" : username)).append("\"></p>\n")
        .append("<p><label for=\"password\">Password</label>\n")
        .append("<input id=\"password\" name=\"password\" type=\"password\"")
        .append(" autocomplete=\"current-password\" required></p>\n")
        .append("<p><button type=\"submit\" id=\"login\">Sign in</button></p>\n</form>\n");
    return Html.page("Sign in", null, b.toString());
  }
}
