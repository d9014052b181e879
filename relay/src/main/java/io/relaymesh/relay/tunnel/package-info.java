/**
 * Tunnel endpoints of the relay (contract: {@code tunnel-endpoints.md}).
 *
 * <ul>
 *   <li>{@link io.relaymesh.relay.tunnel.AgentEndpoint}: {@code /api/v1/tunnel/agent}, agent
 *       token checked before the upgrade, tunnel registered in the
 *       {@link io.relaymesh.relay.tunnel.AgentRegistry}.
 *   <li>{@link io.relaymesh.relay.tunnel.ClientEndpoint}: {@code /api/v1/tunnel/client}, ticket
 *       verified before the upgrade, each OPEN authorized by
 *       {@link io.relaymesh.relay.tunnel.OpenRequest}, opened on the agent's tunnel and
 *       {@link io.relaymesh.relay.tunnel.Splice spliced}.
 *   <li>{@link io.relaymesh.relay.tunnel.Tunnels}: live sessions, upgrade, drain.
 * </ul>
 *
 * <p>Threading: each session lives on the event loop of its WebSocket; a client stream and its
 * agent stream are usually on different event loops and talk through the hopping
 * {@code Stream} methods. No locks on the data path.
 */
package io.relaymesh.relay.tunnel;
