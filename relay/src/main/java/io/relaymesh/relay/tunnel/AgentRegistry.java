package io.relaymesh.relay.tunnel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The agent tunnels this relay holds: agent id -> tunnels (an agent may hold more than one, e.g.
 * while reconnecting). Stream opens pick the newest tunnel that is not draining.
 *
 * <p>Threading: thread-safe; tunnels of different event loops register here.
 */
public final class AgentRegistry {

  private final Map<Long, List<AgentTunnel>> byAgent = new ConcurrentHashMap<>();

  /** Adds a ready tunnel; returns true when it is the agent's first on this relay. */
  public boolean add(AgentTunnel tunnel) {
    boolean[] first = new boolean[1];
    byAgent.compute(tunnel.agent().agentId(), (id, list) -> {
      List<AgentTunnel> l = list == null ? new ArrayList<>() : new ArrayList<>(list);
      first[0] = l.isEmpty();
      l.add(tunnel);
      return List.copyOf(l);
    });
    return first[0];
  }

  /** Removes a tunnel; returns true when it was the agent's last on this relay. */
  public boolean remove(AgentTunnel tunnel) {
    boolean[] last = new boolean[1];
    byAgent.computeIfPresent(tunnel.agent().agentId(), (id, list) -> {
      List<AgentTunnel> l = new ArrayList<>(list);
      if (!l.remove(tunnel)) {
        return list;
      }
      last[0] = l.isEmpty();
      return l.isEmpty() ? null : List.copyOf(l);
    });
    return last[0];
  }

  /** The tunnel to open streams of {@code agentId} on, or {@code null} when none is usable. */
  public AgentTunnel pick(long agentId) {
    List<AgentTunnel> l = byAgent.get(agentId);
    if (l == null) {
      return null;
    }
    for (int i = l.size() - 1; i >= 0; i--) {
      AgentTunnel t = l.get(i);
      if (!t.session().isGoingAway() && !t.session().isClosed()) {
        return t;
      }
    }
    return null;
  }

  /** Ids of the agents with at least one tunnel. */
  public Set<Long> agentIds() {
    return Set.copyOf(byAgent.keySet());
  }

  /** Every tunnel. */
  public Collection<AgentTunnel> tunnels() {
    List<AgentTunnel> all = new ArrayList<>();
    byAgent.values().forEach(all::addAll);
    return all;
  }

  public int tunnelCount() {
    return byAgent.values().stream().mapToInt(List::size).sum();
  }
}
