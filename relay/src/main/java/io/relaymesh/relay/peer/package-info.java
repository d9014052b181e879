/**
 * Relay-to-relay forwarding (one hop): a client on relay B reaches an agent connected only to
 * relay A through a peer session B -> A.
 *
 * <ul>
 *   <li>{@link io.relaymesh.relay.peer.PeerEndpoint}: A's {@code GET /api/v1/tunnel/peer},
 *       authenticated with a peer ticket (relays only), re-authorizing every forwarded stream
 *       with the client's ticket;
 *   <li>{@link io.relaymesh.relay.peer.PeerSessions}: B's peer sessions, one per target replica,
 *       shared by all streams, re-dialed with jittered backoff after a failure;
 *   <li>{@link io.relaymesh.relay.peer.PeerForwarder}: B's
 *       {@link io.relaymesh.relay.tunnel.Forwarder}: asks the control plane which replicas hold
 *       the agent and opens the stream there.
 * </ul>
 */
package io.relaymesh.relay.peer;
