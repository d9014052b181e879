package io.relaymesh.agent;

import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.agent.tunnel.TunnelKeeper;
import io.relaymesh.proxy.dial.ProxySettings;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

/**
 * Process-level inputs of an {@link Agent} that are not configuration keys. Start from
 * {@link #defaults()}.
 *
 * @param ssh settings of the built-in SSH server (used when {@code ssh-target} is {@code builtin})
 * @param environment where {@code HTTPS_PROXY}/{@code NO_PROXY} are read from (the process
 *     environment by default; tests pass a map)
 * @param random source of reconnect jitter
 * @param remeasureEvery how often the relays are measured again (jittered +-25 %); default
 *     {@link TunnelKeeper#REMEASURE_EVERY}, shorter in tests
 */
public record AgentOptions(SshServerOptions ssh, Map<String, String> environment, Random random,
    Duration remeasureEvery) {

  public static AgentOptions defaults() {
    return new AgentOptions(SshServerOptions.defaults(), System.getenv(), new Random(), TunnelKeeper.REMEASURE_EVERY);
  }

  public AgentOptions withSsh(SshServerOptions v) {
    return new AgentOptions(v, environment, random, remeasureEvery);
  }

  public AgentOptions withEnvironment(Map<String, String> v) {
    return new AgentOptions(ssh, v, random, remeasureEvery);
  }

  public AgentOptions withRemeasureEvery(Duration v) {
    return new AgentOptions(ssh, environment, random, v);
  }

  /** The HTTP CONNECT proxy of {@link #environment()}, or null. */
  ProxySettings proxy() {
    return ProxySettings.fromEnvironment(environment);
  }
}
