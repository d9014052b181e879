package io.relaymesh.relay.tunnel;

import io.relaymesh.proxy.session.Stream;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Reaches an agent that is not connected to this relay through the relay that holds it, one hop
 * ({@code io.relaymesh.relay.peer.PeerForwarder}). Used by the client endpoint (kind {@code SSH}
 * or {@code TCP}, the metadata carries the client's ticket) and the app proxy (kind {@code APP},
 * the metadata names the app and carries its app token): the other relay re-verifies that
 * credential, it never trusts this one for who is asking.
 */
public interface Forwarder {

  /**
   * In the reason of a local {@code UNREACHABLE} refusal when no relay holds the agent (as
   * opposed to a holder that could not be reached): {@code agent 'main' of workspace
   * 'alice/dev' is not connected to any relay}.
   */
  String NOT_HELD = "is not connected to any relay";

  /**
   * A stream opened at another relay.
   *
   * @param stream the stream on the peer session (opened, the other relay answered OPEN_OK)
   * @param relay {@code <region>/<replicaId>} of the relay that holds the agent
   */
  record Forwarded(Stream stream, String relay) {}

  /**
   * Opens {@code kind}/{@code target} to agent {@code agentId} on a relay that holds it, with
   * {@code metadata} as the OPEN metadata. Fails with a
   * {@link io.relaymesh.proxy.session.StreamRefusedException} whose code and reason are for the
   * client: the other relay's or agent's refusal passed through, or where forwarding failed
   * ({@code agent 'main' of workspace 'alice/dev' is on relay eu/eu-1, which did not answer:
   * ...}).
   *
   * @param agentDescription {@code agent 'main' of workspace 'alice/dev'}, for messages
   */
  Future<Forwarded> open(long agentId, String agentDescription, int kind, String target,
      JsonObject metadata);
}
