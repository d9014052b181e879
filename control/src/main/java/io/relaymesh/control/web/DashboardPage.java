package io.relaymesh.control.web;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.api.Services;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.store.Model.Agent;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.store.Model.Replica;
import io.relaymesh.control.store.Model.Workspace;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

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
  }

  /** The whole page for {@code user}, with {@code error} on top when not {@code null}. */
  Future<Page> render(Principal.User user, String error, int status) {
    Future<List<Workspace>> workspaces = s.workspaces().listByOwner(user.userId());
    Future<List<Region>> regions = s.relays().list();
    return Future.all(workspaces, regions).map(x -> {
      StringBuilder b = new StringBuilder();
      if (error != null) {
        b.append(Html.error(error));
      }
      workspaces(b, workspaces.result());
      regions(b, regions.result());
      return Page.status(status, Html.page("Dashboard", user.username(), b.toString()));
    });
  }

  /** Runs a share change: back to the dashboard, or the dashboard with the error. */
  Future<Page> change(RoutingContext ctx, Principal.User user, Future<?> action) {
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
