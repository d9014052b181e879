package io.relaymesh.relay.control;

import io.vertx.core.json.JsonObject;

/**
 * Who an agent token belongs to, as the control plane answers {@code POST /relay/agent-auth}.
 *
 * @param agentId the agent's id (the key of the relay's agent registry and of presence)
 * @param agent agent name ({@code main})
 * @param workspace workspace name ({@code dev})
 * @param owner workspace owner ({@code alice})
 * @param fullName {@code owner/name}
 */
public record AgentIdentity(long agentId, String agent, String workspace, String owner,
    String fullName) {

  static AgentIdentity fromJson(JsonObject j) {
    Number id = (Number) j.getValue("agentId");
    if (id == null) {
      throw new IllegalArgumentException("agent-auth answer lacks agentId");
    }
    return new AgentIdentity(id.longValue(), j.getString("agent"), j.getString("workspace"),
        j.getString("owner"), j.getString("fullName"));
  }

  /** {@code agent 'main' of workspace 'alice/dev'}, for messages. */
  public String describe() {
    return "agent '" + agent + "' of workspace '" + fullName + "'";
  }
}
