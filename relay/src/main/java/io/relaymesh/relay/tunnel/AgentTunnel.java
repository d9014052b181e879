package io.relaymesh.relay.tunnel;

import io.relaymesh.proxy.session.Session;
import io.relaymesh.relay.control.AgentIdentity;
import java.time.Instant;

/**
 * One agent tunnel held by this relay: the agent's identity (from its token) and its session.
 *
 * @param id relay-local tunnel id, for logs ({@code at-12})
 * @param agent who the agent is
 * @param session the tunnel session (relay = WebSocket server side)
 * @param remoteAddress the agent's address as seen by the relay
 * @param openedAt when the tunnel became ready
 */
public record AgentTunnel(String id, AgentIdentity agent, Session session, String remoteAddress,
    Instant openedAt) {}
