package io.relaymesh.control.web;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.api.Services;
import io.relaymesh.control.apps.AppAccess;
import io.relaymesh.control.apps.AppHost;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.store.HandoffStore;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.store.Model.Replica;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /apps/auth?host=<app host[:port]>&path=<local path>}, step 4 of the browser app
 * flow (docs/apps.md): the host must be an app directly under the apps host of a registered relay
 * replica (host and port compared, so this never redirects anywhere else); a visitor who is not
 * signed in goes to the login page and comes back; a signed-in user who may open the app gets a
 * one-time handoff code and a redirect to the app's {@code /.relaymesh/callback}; anyone else a
 * 403 page naming the user, the app and its share level.
 */
final class AppAuthPage {

  private static final Logger log = LoggerFactory.getLogger(AppAuthPage.class);
  private static final Pattern HOST = Pattern.compile("[a-z0-9.-]{1,253}(:[0-9]{1,5})?");

  private final Services s;
  private final WebSession session;
  private final AppAccess access;
  private final HandoffStore handoffs;

  AppAuthPage(Services s, WebSession session) {
    this.s = s;
    this.session = session;
    this.access = s.apps();
    this.handoffs = s.handoffs();
  }

  void mount(WebUi ui, Router r) {
    ui.get(r.get("/apps/auth"), this::auth);
  }

  /** A host and its port ({@code -1}: none given; 443 counts as none, the HTTPS default). */
  record Authority(String host, int port) {
    static Authority parse(String s) {
      String l = s.toLowerCase(Locale.ROOT);
      if (l.endsWith(".")) {
        l = l.substring(0, l.length() - 1);
      }
      if (!HOST.matcher(l).matches()) {
        return null;
      }
      int colon = l.indexOf(':');
      if (colon < 0) {
        return new Authority(l, -1);
      }
      int port = Integer.parseInt(l.substring(colon + 1));
      if (port < 1 || port > 65535) {
        return null;
      }
      return new Authority(l.substring(0, colon), port == 443 ? -1 : port);
    }
  }

  /**
   * The app named by {@code host} under one of {@code appsHosts}, or a 400 saying why not. The
   * label must be exactly one DNS label directly under the apps host, with the same port.
   */
  static AppHost appUnder(String host, List<String> appsHosts) {
    Authority a = host == null ? null : Authority.parse(host);
    if (a == null) {
      throw ControlException.badRequest("'host' must be an app host name such as "
          + "8080--main--dev--alice.apps.example.com");
    }
    for (String appsHost : appsHosts) {
      Authority base = Authority.parse(appsHost);
      if (base == null || base.port() != a.port() || !a.host().endsWith("." + base.host())) {
        continue;
      }
      String label = a.host().substring(0, a.host().length() - base.host().length() - 1);
      if (label.contains(".")) {
        continue;
      }
      try {
        return AppHost.parseLabel(label);
      } catch (IllegalArgumentException e) {
        throw new ControlException(400, "bad_app_name", e.getMessage());
      }
    }
    throw ControlException.badRequest("'" + abbreviate(host) + "' is not an app under the apps"
        + " host of any registered relay");
  }

  private Future<Page> auth(RoutingContext ctx) {
    String hostParam = ctx.queryParams().get("host");
    String path = WebSession.localPath(ctx.queryParams().get("path"));
    return s.relays().list().compose(regions -> {
      AppHost app = appUnder(hostParam, appsHosts(regions));
      Authority a = Authority.parse(hostParam);
      String host = a.host() + (a.port() < 0 ? "" : ":" + a.port());
      String self = "/apps/auth?host=" + Html.urlEncode(host) + "&path=" + Html.urlEncode(path);
      return session.user(ctx).compose(user -> {
        if (user == null) {
          return Future.succeededFuture(Page.found(LoginPages.loginUrl(self)));
        }
        return access.decide(app, user).compose(d -> {
          String level = d.app().level().wireName();
          if (!d.allowed()) {
            log.info("apps/auth: user '{}' refused app '{}' (level {})", user.username(),
                app.label(), level);
            return Future.succeededFuture(forbidden(user, app, level, d.reason(), self));
          }
          return handoffs.create(user.sessionId(), user.userId(), app.label()).map(code -> {
            log.info("apps/auth: user '{}' allowed app '{}' (level {}), handoff issued",
                user.username(), app.label(), level);
            return Page.found("https://" + host + "/.relaymesh/callback?code="
                + Html.urlEncode(code) + "&path=" + Html.urlEncode(path));
          });
        }).recover(e -> {
          if (e instanceof ControlException ce && ce.status() < 500) {
            log.info("apps/auth: user '{}' app '{}': {} {}", user.username(), app.label(),
                ce.status(), ce.code());
          }
          return Future.failedFuture(e);
        });
      });
    });
  }

  private static Page forbidden(Principal.User user, AppHost app, String level, String reason,
      String self) {
    String who = switch (level) {
      case "owner" -> "only its owner, " + app.owner() + ", may open it";
      case "authenticated" -> "any signed-in user may open it";
      default -> "anyone may open it";
    };
    StringBuilder b = new StringBuilder();
    b.append("<p id=\"forbidden\">You are signed in as <strong class=\"user\">")
        .append(Html.escape(user.username())).append("</strong>. The app <strong class=\"app\">")
        .append(Html.escape(app.label())).append("</strong> (port ").append(app.port())
        .append(" of agent ").append(Html.escape(app.agent())).append(" in workspace ")
        .append(Html.escape(app.workspaceFullName())).append(") is shared at level <strong")
        .append(" class=\"level\">").append(Html.escape(level)).append("</strong>: ")
        .append(Html.escape(who)).append(".</p>\n");
    if (reason != null && !reason.isBlank()) {
      b.append("<p class=\"reason\">").append(Html.escape(reason)).append("</p>\n");
    }
    b.append("<p>Ask its owner to share it with you, or sign in with another account.</p>\n")
        .append("<form method=\"post\" action=\"/logout\">")
        .append("<input type=\"hidden\" name=\"next\" value=\"").append(Html.escape(self))
        .append("\"><button type=\"submit\" id=\"switch-user\">Sign out</button></form>\n")
        .append("<p><a href=\"/\">Dashboard</a></p>\n");
    return Page.status(403, Html.page("Access denied", user.username(), b.toString()));
  }

  private static List<String> appsHosts(List<Region> regions) {
    List<String> out = new ArrayList<>();
    for (Region g : regions) {
      for (Replica r : g.replicas()) {
        if (r.appsHost() != null && !r.appsHost().isBlank()) {
          out.add(r.appsHost());
        }
      }
    }
    return out;
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
