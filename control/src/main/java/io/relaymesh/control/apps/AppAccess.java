package io.relaymesh.control.apps;

import io.relaymesh.control.auth.Principal;
import io.vertx.core.Future;

/**
 * The one place that decides who may open which app, used by the relay API
 * ({@code /api/v1/relay/apps/*}) and the browser flow ({@code /apps/auth}).
 * SKELETON: the control-api helper implements it (issue 5).
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

  /**
   * Resolves {@code host}: fails with a {@code ControlException} 404 {@code app_not_found} when
   * the owner, workspace or agent does not exist, 403 {@code port_not_allowed} for a refused
   * low port.
   */
  public Future<ResolvedApp> resolve(AppHost host) {
    throw new UnsupportedOperationException("AppAccess.resolve: being built");
  }

  /** Resolves and decides for {@code user} ({@code null}: anonymous). */
  public Future<Decision> decide(AppHost host, Principal.User user) {
    throw new UnsupportedOperationException("AppAccess.decide: being built");
  }
}
