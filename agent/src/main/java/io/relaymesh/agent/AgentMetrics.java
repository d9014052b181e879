package io.relaymesh.agent;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.relaymesh.telemetry.Metrics;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's meters (docs/metrics.md, "Agent"), one set per {@link Agent}: tunnels by state and
 * by relay region, reconnects by reason, streams by kind, local dial failures by reason, SSH
 * sessions of the built-in server. Label values are the fixed lists below or relay region names
 * (operator-chosen and few), never user, workspace or agent names.
 *
 * <p>Thread-safe: the tunnel keeper and the stream acceptor update it from their event loops, a
 * scrape reads it from any thread.
 */
public final class AgentMetrics {

  /** Tunnel states. */
  public static final String CONNECTING = "connecting";
  public static final String CONNECTED = "connected";
  public static final String DRAINING = "draining";

  /** Why a tunnel was dialed again. */
  public static final String RECONNECT_CLOSED = "closed";
  public static final String RECONNECT_GOAWAY = "goaway";
  public static final String RECONNECT_DIAL_FAILED = "dial-failed";
  public static final String RECONNECT_TOKEN_REJECTED = "token-rejected";
  public static final String RECONNECT_DISCOVERY_FAILED = "discovery-failed";
  public static final String RECONNECT_REBALANCE = "rebalance";
  /** A new tunnel landed on a replica already held (one load-balanced URL): closed, dialed again. */
  public static final String RECONNECT_SAME_REPLICA = "same-replica";
  private static final List<String> RECONNECT_REASONS = List.of(RECONNECT_CLOSED, RECONNECT_GOAWAY,
      RECONNECT_DIAL_FAILED, RECONNECT_TOKEN_REJECTED, RECONNECT_DISCOVERY_FAILED,
      RECONNECT_REBALANCE, RECONNECT_SAME_REPLICA);

  /** Stream kinds. */
  public static final String KIND_SSH = "ssh";
  public static final String KIND_TCP = "tcp";
  public static final String KIND_APP = "app";
  private static final List<String> KINDS = List.of(KIND_SSH, KIND_TCP, KIND_APP);

  /** Why a dial to a workspace port failed. */
  public static final String DIAL_REFUSED = "refused";
  public static final String DIAL_TIMEOUT = "timeout";
  public static final String DIAL_NOT_ALLOWED = "not-allowed";
  public static final String DIAL_UNREACHABLE = "unreachable";
  private static final List<String> DIAL_REASONS =
      List.of(DIAL_REFUSED, DIAL_TIMEOUT, DIAL_NOT_ALLOWED, DIAL_UNREACHABLE);

  /** The region label of a relay given by URL only ({@code relay-url}). */
  public static final String UNKNOWN_REGION = "unknown";

  private final Metrics metrics;
  private final MeterRegistry registry;
  private final Map<String, AtomicInteger> tunnels = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> regions = new ConcurrentHashMap<>();
  private final Map<String, Counter> reconnects = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> streams = new ConcurrentHashMap<>();
  private final Map<String, Counter> dialFailures = new ConcurrentHashMap<>();
  private final AtomicInteger sshSessions = new AtomicInteger();
  private final Counter sshOpened;

  public AgentMetrics(Metrics metrics) {
    this.metrics = metrics;
    this.registry = metrics.registry();
    for (String s : List.of(CONNECTING, CONNECTED, DRAINING)) {
      AtomicInteger v = new AtomicInteger();
      tunnels.put(s, v);
      Gauge.builder("relaymesh.agent.tunnels", v, AtomicInteger::get)
          .description("tunnels to relays by state").tag("state", s).register(registry);
    }
    for (String r : RECONNECT_REASONS) {
      reconnects.put(r, Counter.builder("relaymesh.agent.reconnects")
          .description("tunnels re-dialed, by why").tag("reason", r).register(registry));
    }
    for (String k : KINDS) {
      AtomicInteger v = new AtomicInteger();
      streams.put(k, v);
      Gauge.builder("relaymesh.agent.streams", v, AtomicInteger::get)
          .description("streams open").tag("kind", k).register(registry);
    }
    for (String r : DIAL_REASONS) {
      dialFailures.put(r, Counter.builder("relaymesh.agent.local.dial.failures")
          .description("dials to a workspace port that failed").tag("reason", r)
          .register(registry));
    }
    Gauge.builder("relaymesh.agent.ssh.sessions", sshSessions, AtomicInteger::get)
        .description("SSH sessions open in the built-in server").register(registry);
    sshOpened = Counter.builder("relaymesh.agent.ssh.sessions.opened")
        .description("SSH sessions accepted").register(registry);
  }

  /** The process's registry and exposition. */
  public Metrics metrics() {
    return metrics;
  }

  /**
   * Sets the tunnel gauges: how many are being dialed, connected (counting towards the wanted
   * number) and draining (after GOAWAY or when moving off a relay, until closed), and the
   * connected ones per relay region ({@code null} region: {@value #UNKNOWN_REGION}).
   */
  public void tunnels(int connecting, int connected, int draining, Map<String, Integer> byRegion) {
    tunnels.get(CONNECTING).set(connecting);
    tunnels.get(CONNECTED).set(connected);
    tunnels.get(DRAINING).set(draining);
    for (Map.Entry<String, Integer> e : byRegion.entrySet()) {
      region(e.getKey()).set(e.getValue());
    }
    regions.forEach((r, v) -> {
      if (!byRegion.containsKey(r)) {
        v.set(0);
      }
    });
  }

  private AtomicInteger region(String region) {
    return regions.computeIfAbsent(region, r -> {
      AtomicInteger v = new AtomicInteger();
      Gauge.builder("relaymesh.agent.tunnel.relays", v, AtomicInteger::get)
          .description("connected tunnels per relay region").tag("region", r).register(registry);
      return v;
    });
  }

  /** The region label of a relay. */
  public static String regionLabel(String region) {
    return region == null || region.isBlank() ? UNKNOWN_REGION : region;
  }

  /** Counts a re-dial; {@code reason} is one of the {@code RECONNECT_} constants. */
  public void reconnect(String reason) {
    known(reconnects, reason).increment();
  }

  /** A stream of {@code kind} (a {@code KIND_} constant) opened. */
  public void streamOpened(String kind) {
    known(streams, kind).incrementAndGet();
  }

  /** A stream of {@code kind} closed. */
  public void streamClosed(String kind) {
    known(streams, kind).decrementAndGet();
  }

  /** Counts a failed dial to a workspace port; {@code reason} is a {@code DIAL_} constant. */
  public void dialFailed(String reason) {
    known(dialFailures, reason).increment();
  }

  /** An SSH session of the built-in server started. */
  public void sshOpened() {
    sshOpened.increment();
    sshSessions.incrementAndGet();
  }

  /** An SSH session of the built-in server ended. */
  public void sshClosed() {
    sshSessions.decrementAndGet();
  }

  private static <T> T known(Map<String, T> m, String key) {
    T v = m.get(key);
    if (v == null) {
      throw new IllegalArgumentException("unknown label value " + key);
    }
    return v;
  }
}
