package io.relaymesh.control.web;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.api.Services;
import io.relaymesh.control.apps.ShareLevel;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.store.Model.Agent;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.store.Model.Replica;
import io.relaymesh.control.store.Model.Share;
import io.relaymesh.control.store.Model.Workspace;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.function.Function;

/**
 * The dashboard at {@code /}: the signed-in user's workspaces with each agent's status and
 * relay, their port shares (change level, unshare, copy URL), a form to share a port, and the
 * regions with their replicas' health. Share changes are form POSTs that redirect back (or show
 * the page again with the error).
 */
final class DashboardPage {

  private final Services s;
  private final WebSession session;

  DashboardPage(Services s, WebSession session) {
    this.s = s;
    this.session = session;
  }

  void mount(WebUi ui, Router r) {
    ui.get(r.get("/"), ctx -> session.user(ctx).compose(u -> u == null
        ? Future.succeededFuture(Page.found("/login"))
        : render(u, null, 200)));
    // a new share, and a level change of an existing one (same fields, https kept hidden)
    ui.post(r.post("/shares"), ctx -> signedIn(ctx, u -> share(ctx, u)));
    ui.post(r.post("/shares/level"), ctx -> signedIn(ctx, u -> share(ctx, u)));
    ui.post(r.post("/shares/delete"), ctx -> signedIn(ctx, u -> {
      var f = ctx.request().formAttributes();
      return s.apps().unshare(u, u.username(), required(f.get("workspace"), "workspace"),
          agent(f.get("agent")), port(f.get("port")));
    }));
  }

  private Future<?> share(RoutingContext ctx, Principal.User u) {
    var f = ctx.request().formAttributes();
    return s.apps().share(u, u.username(), required(f.get("workspace"), "workspace"),
        agent(f.get("agent")), port(f.get("port")), "true".equals(f.get("https")),
        level(f.get("level")));
  }

  /** Runs a share change for the signed-in user; to the login page when there is none. */
  private Future<Page> signedIn(RoutingContext ctx,
      Function<Principal.User, Future<?>> action) {
    return session.user(ctx).compose(u -> {
      if (u == null) {
        return Future.succeededFuture(Page.seeOther("/login"));
      }
      Future<?> f;
      try {
        f = action.apply(u);
      } catch (RuntimeException e) {
        f = Future.failedFuture(e);
      }
      return change(u, f);
    });
  }

  private static String required(String v, String what) {
    if (v == null || v.isBlank()) {
      throw ControlException.badRequest("choose a " + what);
    }
    return v.strip();
  }

  private static String agent(String v) {
    return v == null || v.isBlank() ? "main" : v.strip();
  }

  private static int port(String v) {
    try {
      int p = Integer.parseInt(v == null ? "" : v.strip());
      if (p >= 1 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw ControlException.badRequest("port '" + (v == null ? "" : abbreviate(v))
        + "' is not a number between 1 and 65535");
  }

  private static ShareLevel level(String v) {
    try {
      return ShareLevel.parse(v == null ? ShareLevel.OWNER.wireName() : v);
    } catch (IllegalArgumentException e) {
      throw ControlException.badRequest("share level '" + abbreviate(String.valueOf(v))
          + "' is not one of owner, authenticated, public");
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  /** The whole page for {@code user}, with {@code error} on top when not {@code null}. */
  private Future<Page> render(Principal.User user, String error, int status) {
    Future<List<Workspace>> workspaces = s.workspaces().listByOwner(user.userId());
    Future<List<Region>> regions = s.relays().list();
    Future<List<Share>> shares = s.apps().shares(user);
    Future<List<String>> appsHosts = s.apps().appsHosts();
    Future<ShareLevel> max = s.settings().maxShareLevel();
    return Future.all(workspaces, regions, shares, appsHosts, max).map(x -> {
      StringBuilder b = new StringBuilder();
      if (error != null) {
        b.append(Html.error(error));
      }
      workspaces(b, workspaces.result());
      shares(b, shares.result(), appsHosts.result(), max.result());
      addShare(b, workspaces.result());
      regions(b, regions.result());
      return Page.status(status, Html.page("Dashboard", user.username(), b.toString()));
    });
  }

  /** Runs a share change: back to the dashboard, or the dashboard with the error. */
  private Future<Page> change(Principal.User user, Future<?> action) {
    return action.map(x -> Page.seeOther("/#shares")).recover(e -> {
      if (e instanceof ControlException ce && ce.status() < 500) {
        return render(user, ce.getMessage(), ce.status());
      }
      return Future.failedFuture(e);
    });
  }

  private static void workspaces(StringBuilder b, List<Workspace> list) {
    b.append("<section aria-labelledby=\"workspaces-h\">\n<h2 id=\"workspaces-h\">Workspaces</h2>\n");
    if (list.isEmpty()) {
      b.append("<p>You have no workspaces yet: create one with <code>relaymesh workspaces create")
          .append(" &lt;name&gt;</code>.</p>\n</section>\n");
      return;
    }
    b.append("<table id=\"workspaces\">\n<thead><tr><th scope=\"col\">Workspace</th>")
        .append("<th scope=\"col\">Agent</th><th scope=\"col\">Status</th>")
        .append("<th scope=\"col\">Relay</th></tr></thead>\n<tbody>\n");
    for (Workspace w : list) {
      for (Agent a : w.agents()) {
        boolean connected = !a.connectedTo().isEmpty();
        b.append("<tr data-workspace=\"").append(Html.escape(w.fullName()))
            .append("\" data-agent=\"").append(Html.escape(a.name())).append("\">")
            .append("<th scope=\"row\">").append(Html.escape(w.fullName())).append("</th><td>")
            .append(Html.escape(a.name())).append("</td><td class=\"status ")
            .append(connected ? "connected\">connected" : "disconnected\">not connected")
            .append("</td><td>");
        if (connected) {
          StringBuilder relays = new StringBuilder();
          for (Replica r : a.connectedTo()) {
            relays.append(relays.isEmpty() ? "" : ", ").append(Html.escape(r.region()))
                .append(" / ").append(Html.escape(r.replicaId()));
          }
          b.append(relays);
        } else {
          b.append("&mdash;");
        }
        b.append("</td></tr>\n");
      }
    }
    b.append("</tbody>\n</table>\n</section>\n");
  }

  private static void shares(StringBuilder b, List<Share> list, List<String> appsHosts,
      ShareLevel max) {
    b.append("<section aria-labelledby=\"shares-h\">\n<h2 id=\"shares-h\">Port shares</h2>\n")
        .append("<p>Highest level an admin allows: <strong id=\"max-level\">")
        .append(max.wireName()).append("</strong>.</p>\n");
    if (list.isEmpty()) {
      b.append("<p id=\"no-shares\">No port is shared. Share one below or with <code>relaymesh")
          .append(" ports share</code>.</p>\n</section>\n");
      return;
    }
    b.append("<table id=\"shares\">\n<thead><tr><th scope=\"col\">Workspace</th>")
        .append("<th scope=\"col\">Agent</th><th scope=\"col\">Port</th>")
        .append("<th scope=\"col\">Level</th><th scope=\"col\">URL</th>")
        .append("<th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th>")
        .append("</tr></thead>\n<tbody>\n");
    for (Share sh : list) {
      String label = sh.app().label();
      String hidden = hidden("workspace", sh.workspace()) + hidden("agent", sh.agent())
          + hidden("port", String.valueOf(sh.port()));
      b.append("<tr data-app=\"").append(Html.escape(label)).append("\" data-level=\"")
          .append(sh.level().wireName()).append("\"><th scope=\"row\">")
          .append(Html.escape(sh.workspaceFullName())).append("</th><td>")
          .append(Html.escape(sh.agent())).append("</td><td>").append(sh.port())
          .append(sh.https() ? " (https)" : "").append("</td><td>")
          .append("<form class=\"inline\" method=\"post\" action=\"/shares/level\">")
          .append(hidden).append(hidden("https", String.valueOf(sh.https())))
          .append("<label class=\"visually-hidden\" for=\"level-").append(Html.escape(label))
          .append("\">Level of ").append(Html.escape(label)).append("</label>")
          .append(levelSelect("level-" + label, sh.level()))
          .append("<button type=\"submit\" class=\"change-level\">Change<span")
          .append(" class=\"visually-hidden\"> level of ").append(Html.escape(label))
          .append("</span></button></form>")
          .append("</td><td>");
      List<String> urls = sh.urls(appsHosts);
      if (urls.isEmpty()) {
        b.append("no healthy relay with an apps host");
      } else {
        b.append("<ul class=\"urls\">");
        for (String u : urls) {
          b.append("<li><a class=\"share-url\" href=\"").append(Html.escape(u)).append("\">")
              .append(Html.escape(u)).append("</a> <button type=\"button\" class=\"copy\"")
              .append(" data-url=\"").append(Html.escape(u)).append("\" hidden>Copy</button></li>");
        }
        b.append("</ul>");
      }
      b.append("</td><td><form class=\"inline\" method=\"post\" action=\"/shares/delete\">")
          .append(hidden).append("<button type=\"submit\" class=\"unshare danger\">Unshare")
          .append("<span class=\"visually-hidden\"> ").append(Html.escape(label))
          .append("</span></button></form></td></tr>\n");
    }
    b.append("</tbody>\n</table>\n</section>\n");
  }

  private static void addShare(StringBuilder b, List<Workspace> workspaces) {
    if (workspaces.isEmpty()) {
      return;
    }
    b.append("<section aria-labelledby=\"add-share-h\">\n<h2 id=\"add-share-h\">Share a port")
        .append("</h2>\n<form id=\"add-share\" class=\"share\" method=\"post\"")
        .append(" action=\"/shares\">\n<p><label for=\"share-workspace\">Workspace</label>")
        .append("<select id=\"share-workspace\" name=\"workspace\">");
    for (Workspace w : workspaces) {
      b.append("<option value=\"").append(Html.escape(w.name())).append("\">")
          .append(Html.escape(w.name())).append("</option>");
    }
    b.append("</select></p>\n<p><label for=\"share-agent\">Agent</label>")
        .append("<input id=\"share-agent\" name=\"agent\" value=\"main\" required></p>\n")
        .append("<p><label for=\"share-port\">Port</label><input id=\"share-port\"")
        .append(" name=\"port\" type=\"number\" min=\"1\" max=\"65535\" required></p>\n")
        .append("<p><label for=\"share-level\">Level</label>")
        .append(levelSelect("share-level", ShareLevel.OWNER)).append("</p>\n")
        .append("<p class=\"check\"><input id=\"share-https\" name=\"https\"")
        .append(" type=\"checkbox\" value=\"true\"><label for=\"share-https\">The app")
        .append(" speaks HTTPS</label></p>\n")
        .append("<p><button type=\"submit\" id=\"share-submit\">Share</button></p>\n")
        .append("</form>\n</section>\n");
  }

  private static String levelSelect(String id, ShareLevel selected) {
    StringBuilder b = new StringBuilder("<select id=\"").append(Html.escape(id))
        .append("\" name=\"level\">");
    for (ShareLevel l : ShareLevel.values()) {
      b.append("<option value=\"").append(l.wireName()).append("\"")
          .append(l == selected ? " selected" : "").append(">").append(l.wireName())
          .append("</option>");
    }
    return b.append("</select>").toString();
  }

  private static String hidden(String name, String value) {
    return "<input type=\"hidden\" name=\"" + name + "\" value=\"" + Html.escape(value)
        + "\">";
  }

  private static void regions(StringBuilder b, List<Region> list) {
    b.append("<section aria-labelledby=\"regions-h\">\n<h2 id=\"regions-h\">Regions</h2>\n");
    if (list.isEmpty()) {
      b.append("<p>No regions yet (an admin creates them with <code>relaymesh relays create")
          .append("</code>).</p>\n</section>\n");
      return;
    }
    b.append("<table id=\"regions\">\n<thead><tr><th scope=\"col\">Region</th>")
        .append("<th scope=\"col\">Replica</th><th scope=\"col\">Public URL</th>")
        .append("<th scope=\"col\">Apps host</th><th scope=\"col\">Health</th></tr></thead>\n")
        .append("<tbody>\n");
    for (Region g : list) {
      if (g.replicas().isEmpty()) {
        b.append("<tr data-region=\"").append(Html.escape(g.name())).append("\"><th scope=\"row\">")
            .append(Html.escape(g.name())).append("</th><td colspan=\"3\">no replica registered")
            .append("</td><td class=\"health unhealthy\">down</td></tr>\n");
        continue;
      }
      for (Replica r : g.replicas()) {
        b.append("<tr data-region=\"").append(Html.escape(g.name())).append("\" data-replica=\"")
            .append(Html.escape(r.replicaId())).append("\"><th scope=\"row\">")
            .append(Html.escape(g.name())).append("</th><td>").append(Html.escape(r.replicaId()))
            .append("</td><td>").append(Html.escape(r.publicUrl())).append("</td><td>")
            .append(r.appsHost() == null ? "&mdash;" : Html.escape(r.appsHost()))
            .append("</td><td class=\"health ").append(r.healthy() ? "healthy\">healthy"
                : "unhealthy\">no heartbeat").append("</td></tr>\n");
      }
    }
    b.append("</tbody>\n</table>\n</section>\n");
  }
}
