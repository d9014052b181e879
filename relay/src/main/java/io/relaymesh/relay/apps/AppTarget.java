package io.relaymesh.relay.apps;

import io.relaymesh.relay.tunnel.AgentTunnel;

/**
 * Where an authorized app request goes.
 *
 * @param tunnel the agent's tunnel on this relay
 * @param app the app label ({@code 8080--main--dev--alice}), for logs and the connection log
 * @param port the loopback port in the workspace
 * @param https whether the app speaks HTTPS (the relay then speaks TLS to it, unverified)
 * @param username who is asking ({@code null}: anonymous, public share)
 * @param workspace {@code owner/name}
 * @param agent the agent's name
 * @param clientAddress the browser's address as the relay sees it
 */
public record AppTarget(AgentTunnel tunnel, String app, int port, boolean https, String username,
    String workspace, String agent, String clientAddress) {}
