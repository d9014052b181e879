package io.relaymesh.control.apps;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlException;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.store.Model.Agent;
import io.relaymesh.control.store.Model.Replica;
import io.relaymesh.control.store.Model.Share;
import io.relaymesh.control.store.Model.Workspace;
import io.relaymesh.control.store.RelayStore;
import io.relaymesh.control.store.SettingsStore;
import io.relaymesh.control.store.ShareStore;
import io.relaymesh.control.store.WorkspaceStore;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one place that decides who may open which app, used by the relay API
 * ({@code /api/v1/relay/apps/*}) and the browser flow ({@code /apps/auth}), and the one place
 * that applies the share-time policy (ownership, the admin's maximum level, low ports, the DNS
 * label limit) for the share API and the dashboard. See {@code docs/apps.md}.
 */
public final class AppAccess {

  /**
   * An app as the control plane knows it.
   *
   * @param level the share's level; {@link ShareLevel#OWNER} when the port is not shared
   */
  public record ResolvedApp(AppHost host, long ownerId, long workspaceId, long agentId,
      ShareLevel level) {}

  /** Outcome of a check; {@code reason} is a sentence for the user when not allowed. */
  public record Decision(ResolvedApp app, boolean allowed, String reason) {}

  private final ControlConfig config;
  private final ShareStore shares;
  private final SettingsStore settings;
  private final WorkspaceStore workspaces;
  private final RelayStore relays;

  public AppAccess(ControlConfig config, ShareStore shares, SettingsStore settings,
      WorkspaceStore workspaces, RelayStore relays) {
    this.config = config;
    this.shares = shares;
    this.settings = settings;
    this.workspaces = workspaces;
    this.relays = relays;
  }

  /**
   * Resolves {@code host}: fails with a {@code ControlException} 404 {@code app_not_found} when
   * the owner, workspace or agent does not exist, 403 {@code port_not_allowed} for a refused
   * low port.
   */
  public Future<ResolvedApp> resolve(AppHost host) {
    if (!config.appPortAllowed(host.port())) {
      return Future.failedFuture(new ControlException(403, "port_not_allowed",
          lowPortMessage(host.port()) + " (app " + host.label() + ")"));
    }
    return shares.target(host.owner(), host.workspace(), host.agent(), host.port()).map(t -> {
      if (t == null || t.workspaceId() == null || t.agentId() == null) {
        // one message for all three: an anonymous visitor learns nothing about which exists
        throw ControlException.notFound("app_not_found", "app " + host.label()
            + " does not exist: no agent '" + host.agent() + "' of a workspace '"
            + host.workspace() + "' of a user '" + host.owner() + "'");
      }
      return new ResolvedApp(host, t.ownerId(), t.workspaceId(), t.agentId(),
          t.level() == null ? ShareLevel.OWNER : t.level());
    });
  }

  /** Resolves and decides for {@code user} ({@code null}: anonymous). */
  public Future<Decision> decide(AppHost host, Principal.User user) {
    return resolve(host).map(app -> decide(app, user == null ? null : user.userId(),
        user == null ? null : user.username()));
  }

  /** Decides for a user of a resolved app ({@code userId} {@code null}: anonymous). */
  public static Decision decide(ResolvedApp app, Long userId, String username) {
    if (app.level().allows(userId, app.ownerId())) {
      return new Decision(app, true, null);
    }
    String label = app.host().label();
    String who = username == null ? "you are not signed in" : "you are signed in as " + username;
    String reason = switch (app.level()) {
      case OWNER -> "app " + label + " is shared with its owner only; " + who;
      case AUTHENTICATED -> "app " + label + " is shared with signed-in users only; " + who;
      case PUBLIC -> "app " + label + " is public";
    };
    return new Decision(app, false, reason);
  }

  /**
   * Shares (or re-shares) a port of {@code owner/workspace}'s agent as {@code user}. Fails with
   * 404 {@code workspace_not_found} / {@code agent_not_found} unless {@code user} owns it, 400
   * {@code port_not_allowed}, {@code app_name_too_long} or {@code share_level_too_high}.
   */
  public Future<Share> share(Principal.User user, String owner, String workspace, String agent,
      int port, boolean https, ShareLevel level) {
    return ownedAgent(user, owner, workspace, agent).compose(wa -> {
      checkPort(port);
      AppHost host;
      try {
        host = new AppHost(port, https, agent, workspace, owner);
      } catch (IllegalArgumentException e) {
        throw ControlException.badRequest(e.getMessage());
      }
      try {
        AppHost.check(port, https, agent, workspace, owner);
      } catch (IllegalArgumentException e) {
        // the parts are valid (above): only the label length is left
        throw new ControlException(400, "app_name_too_long", e.getMessage());
      }
      return settings.maxShareLevel().compose(max -> {
        if (level.compareTo(max) > 0) {
          throw new ControlException(400, "share_level_too_high", "cannot share "
              + host.label() + " at level '" + level.wireName() + "': an admin has set the"
              + " maximum share level to '" + max.wireName() + "'");
        }
        return shares.put(wa.agent().id(), port, https, level, user.userId());
      });
    });
  }

  /** Removes the share of a port (no-op when it is not shared); same 404s as {@link #share}. */
  public Future<Void> unshare(Principal.User user, String owner, String workspace, String agent,
      int port) {
    return ownedAgent(user, owner, workspace, agent).compose(wa -> {
      checkRange(port);
      return shares.delete(wa.agent().id(), port).mapEmpty();
    });
  }

  /** The shares of {@code user}'s workspaces. */
  public Future<List<Share>> shares(Principal.User user) {
    return shares.listByOwner(user.userId());
  }

  /**
   * The apps hosts of the healthy registered relay replicas, each once ({@code host[:port]}),
   * in region order: what share URLs are built on.
   */
  public Future<List<String>> appsHosts() {
    return relays.list().map(regions -> {
      Set<String> hosts = new LinkedHashSet<>();
      regions.forEach(g -> g.replicas().stream()
          .filter(r -> r.healthy() && r.appsHost() != null && !r.appsHost().isBlank())
          .map(Replica::appsHost).forEach(hosts::add));
      return new ArrayList<>(hosts);
    });
  }

  private record OwnedAgent(Workspace workspace, Agent agent) {}

  private Future<OwnedAgent> ownedAgent(Principal.User user, String owner, String workspace,
      String agent) {
    if (!owner.equals(user.username())) {
      return Future.failedFuture(WorkspaceStore.notFound(owner, workspace));
    }
    return workspaces.find(owner, workspace).map(w -> {
      if (w == null) {
        throw WorkspaceStore.notFound(owner, workspace);
      }
      Agent a = w.agent(agent);
      if (a == null) {
        throw ControlException.notFound("agent_not_found", "agent '" + agent
            + "' of workspace '" + w.fullName() + "' not found");
      }
      return new OwnedAgent(w, a);
    });
  }

  private void checkPort(int port) {
    checkRange(port);
    if (!config.appPortAllowed(port)) {
      throw new ControlException(400, "port_not_allowed", lowPortMessage(port));
    }
  }

  private static void checkRange(int port) {
    if (port < 1 || port > 65535) {
      throw ControlException.badRequest("port " + port + " is not between 1 and 65535");
    }
  }

  private String lowPortMessage(int port) {
    List<String> allowed = config.appAllowedLowPorts();
    return "port " + port + " is below " + ControlConfig.LOW_PORT_LIMIT + " and not in the"
        + " control plane's app-allowed-low-ports ("
        + (allowed == null || allowed.isEmpty() ? "none allowed" : String.join(", ", allowed))
        + ")";
  }
}
