package io.relaymesh.config;

import java.util.List;

/**
 * Configuration of a workspace agent ({@code relaymesh agent}); YAML section {@code agent},
 * environment prefix {@code RELAYMESH_AGENT_}.
 *
 * @param url URL of the control plane
 * @param token agent token (secret), printed by {@code relaymesh workspaces create}
 * @param region pinned region; {@code null}: the nearest healthy relays by latency
 * @param sshTarget where SSH streams go: {@code builtin} or a {@code host:port}
 * @param relayCount number of relays to keep a tunnel to, for high availability
 * @param tunnel tunnel session limits
 */
public record AgentConfig(
    @Doc("URL of the control plane (http or https)") String url,
    @Doc("agent token, printed once by `relaymesh workspaces create`") @Secret String token,
    @Doc("pin this region instead of choosing the nearest relays by latency") String region,
    @Doc("where SSH streams go: builtin (the built-in SSH server) or host:port")
    String sshTarget,
    @Doc("number of relays to keep a tunnel to, for high availability") int relayCount,
    TunnelConfig tunnel)
    implements ConfigSection {

  public static final String DEFAULT_SSH_TARGET = "builtin";
  public static final int DEFAULT_RELAY_COUNT = 2;
  public static final int MAX_RELAY_COUNT = 8;

  public static AgentConfig defaults() {
    return new AgentConfig(null, null, null, DEFAULT_SSH_TARGET, DEFAULT_RELAY_COUNT,
        TunnelConfig.defaults());
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (Checks.required(problems, path, "url", url)) {
      Checks.url(problems, path, "url", url, "http", "https");
    }
    Checks.required(problems, path, "token", token);
    Checks.region(problems, path, "region", region);
    if (Checks.required(problems, path, "ssh-target", sshTarget)
        && !sshTarget.equals(DEFAULT_SSH_TARGET)) {
      Checks.listenAddress(problems, path, "ssh-target", sshTarget);
    }
    Checks.range(problems, path, "relay-count", relayCount, 1, MAX_RELAY_COUNT);
    Checks.required(problems, path, "tunnel", tunnel);
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
