package io.relaymesh.relay.tunnel;

import io.relaymesh.proxy.session.Stream;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Reaches an agent that is not connected to this relay through the relay that holds it, one hop
 * ({@code io.relaymesh.relay.peer.PeerForwarder}). Used by the client endpoint; meant for the
 * app proxy as well (the metadata carries whatever credential the other relay checks).
 */
public interface Forwarder {

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
