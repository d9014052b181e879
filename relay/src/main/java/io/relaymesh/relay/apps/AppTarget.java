package io.relaymesh.relay.apps;

import io.relaymesh.relay.tunnel.AgentTunnel;

/**
 * Where an authorized app request goes.
 *
 * @param tunnel the agent's tunnel on this relay, or {@code null}: the agent is held by another
 *     relay and the request is forwarded there ({@link AppForwarder#peers})
 * @param agentId the agent's id (finds the relay holding it when {@code tunnel} is null)
 * @param app the app label ({@code 8080--main--dev--alice}), for logs and the connection log
 * @param port the loopback port in the workspace
 * @param https whether the app speaks HTTPS (the relay then speaks TLS to it, unverified)
 * @param username who is asking ({@code null}: anonymous, public share)
 * @param workspace {@code owner/name}
 * @param agent the agent's name
 * @param clientAddress the browser's address as the relay sees it
 * @param appToken the app token that authorized the request (null: public share), passed to the
 *     relay holding the agent which verifies it again; never sent to the app, never logged
 */
public record AppTarget(AgentTunnel tunnel, long agentId, String app, int port, boolean https,
    String username, String workspace, String agent, String clientAddress, String appToken) {

  /** A request to an agent connected to this relay. */
  public AppTarget(AgentTunnel tunnel, String app, int port, boolean https, String username,
      String workspace, String agent, String clientAddress) {
    this(tunnel, 0, app, port, https, username, workspace, agent, clientAddress, null);
  }

  /** Whether the agent is on another relay. */
  public boolean forwarded() {
    return tunnel == null;
  }

  /** {@code agent 'main' of workspace 'alice/dev'}, for messages. */
  public String agentDescription() {
    return "agent '" + agent + "' of workspace '" + workspace + "'";
  }

  @Override
  public String toString() { // never the app token
    return "AppTarget[" + app + ", user " + (username == null ? "anonymous" : username)
        + (tunnel == null ? ", forwarded" : ", tunnel " + tunnel.id()) + "]";
  }
}
