package io.relaymesh.relay.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.telemetry.Metrics;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The relay's meters (docs/metrics.md, "## Relay") on one {@link Metrics} registry per relay
 * instance (several relays share a test JVM, so nothing is global).
 *
 * <p>Hot path: the per-DATA-frame byte counters and the stream gauges are resolved once here
 * ({@link #bytes}, {@link #streamOpened}); labelled counters of rare events (refusals,
 * handshake failures, control-plane errors) are looked up by name in a small cache.
 *
 * <p>Gauges are kept by events (open +1, close -1), not computed from the relay's tables, so
 * that {@code /debug/consistency} can compare the two.
 *
 * <p>Threading: thread-safe.
 */
public final class RelayMetrics implements AutoCloseable {

  /** The {@code kind} label values, by index. */
  public static final String[] KINDS = {"ssh", "tcp", "app", "peer"};
  public static final int SSH = 0;
  public static final int TCP = 1;
  public static final int APP = 2;
  public static final int PEER = 3;
  /** {@code direction} of {@link #bytes}: towards the agent. */
  public static final int TO_AGENT = 0;
  /** {@code direction} of {@link #bytes}: from the agent. */
  public static final int FROM_AGENT = 1;

  private static final Duration[] OPEN_SLOS = slos(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25, 0.5, 1, 2.5, 5, 10);
  private static final Duration[] RTT_SLOS = slos(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05, 0.1, 0.25, 0.5, 1, 2.5);
  private static final Duration[] CONTROL_SLOS = slos(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
      1, 2.5, 5, 10);

  private final Metrics metrics;
  private final MeterRegistry registry;
  private final AtomicInteger agentTunnels = new AtomicInteger();
  private final AtomicInteger clientSessions = new AtomicInteger();
  private final AtomicInteger peersIn = new AtomicInteger();
  private final AtomicInteger peersOut = new AtomicInteger();
  private final AtomicInteger[] streams = new AtomicInteger[KINDS.length];
  private final Counter[][] bytes = new Counter[KINDS.length][2];
  private final Timer[] openLatency = new Timer[KINDS.length];
  private final Timer rttAgent;
  private final Timer rttClient;
  private final Timer rttRelay;
  private final Counter[] appStatus = new Counter[5];
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();
  /** Stream-open counters by kind index and result index, filled on first use. */
  private final Counter[][] opens = new Counter[KINDS.length][7];
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  /**
   * @param ready the readiness rule of {@code /readyz}
   * @param draining whether the relay drains
   */
  public RelayMetrics(BooleanSupplier ready, BooleanSupplier draining) {
    this.metrics = Metrics.create();
    this.registry = metrics.registry();
    Gauge.builder("relaymesh.relay.ready", () -> ready.getAsBoolean() ? 1 : 0)
        .description("1 when registered with the control plane, TLS loaded and not draining")
        .register(registry);
    Gauge.builder("relaymesh.relay.draining", () -> draining.getAsBoolean() ? 1 : 0)
        .description("1 while the relay drains").register(registry);
    gauge("relaymesh.relay.agent.tunnels", agentTunnels::get, "agent tunnels open");
    gauge("relaymesh.relay.client.sessions", clientSessions::get, "client tunnel sessions open");
    Gauge.builder("relaymesh.relay.peer.sessions", peersIn::get).tag("direction", "in")
        .description("relay-to-relay sessions open").register(registry);
    Gauge.builder("relaymesh.relay.peer.sessions", peersOut::get).tag("direction", "out")
        .description("relay-to-relay sessions open").register(registry);
    for (int k = 0; k < KINDS.length; k++) {
      AtomicInteger n = new AtomicInteger();
      streams[k] = n;
      Gauge.builder("relaymesh.relay.streams", n::get).tag("kind", KINDS[k])
          .description("streams open").register(registry);
      bytes[k][TO_AGENT] = Counter.builder("relaymesh.relay.stream.bytes").tag("kind", KINDS[k])
          .tag("direction", "to_agent").description("stream payload bytes carried")
          .register(registry);
      bytes[k][FROM_AGENT] = Counter.builder("relaymesh.relay.stream.bytes")
          .tag("kind", KINDS[k]).tag("direction", "from_agent")
          .description("stream payload bytes carried").register(registry);
      openLatency[k] = Timer.builder("relaymesh.relay.stream.open").tag("kind", KINDS[k])
          .description("from the open request reaching the relay to the agent's answer")
          .serviceLevelObjectives(OPEN_SLOS).register(registry);
    }
    rttAgent = rtt("agent");
    rttClient = rtt("client");
    rttRelay = rtt("relay");
    for (int i = 0; i < appStatus.length; i++) {
      appStatus[i] = Counter.builder("relaymesh.relay.app.requests").tag("status", (i + 1) + "xx")
          .description("HTTP requests answered by the app proxy").register(registry);
    }
  }

  private Timer rtt(String peer) {
    return Timer.builder("relaymesh.relay.tunnel.rtt").tag("peer", peer)
        .description("tunnel round-trip time from PING/PONG").serviceLevelObjectives(RTT_SLOS)
        .register(registry);
  }

  private void gauge(String name, IntSupplier value, String description) {
    Gauge.builder(name, value::getAsInt).description(description).register(registry);
  }

  private static Duration[] slos(double... seconds) {
    Duration[] d = new Duration[seconds.length];
    for (int i = 0; i < seconds.length; i++) {
      d[i] = Duration.ofNanos((long) (seconds[i] * 1e9));
    }
    return d;
  }

  /** The registry behind {@code GET /metrics}. */
  public Metrics metrics() {
    return metrics;
  }

  /** The exposition text. */
  public String scrape() {
    return metrics.scrape();
  }

  // ---- sessions --------------------------------------------------------------------------

  /** The {@code kind} index of a wire kind on an agent tunnel, or -1 (not counted). */
  public static int kindIndex(int wireKind) {
    return switch (wireKind) {
      case WireSpec.KIND_SSH -> SSH;
      case WireSpec.KIND_TCP -> TCP;
      case WireSpec.KIND_APP -> APP;
      default -> -1;
    };
  }

  public void agentTunnel(int delta) {
    agentTunnels.addAndGet(delta);
  }

  public void clientSession(int delta) {
    clientSessions.addAndGet(delta);
  }

  /** A peer session opened ({@code +1}) or closed; {@code inbound}: another relay dialed us. */
  public void peerSession(boolean inbound, int delta) {
    (inbound ? peersIn : peersOut).addAndGet(delta);
  }

  public int agentTunnels() {
    return agentTunnels.get();
  }

  public int clientSessions() {
    return clientSessions.get();
  }

  public int peerSessions(boolean inbound) {
    return (inbound ? peersIn : peersOut).get();
  }

  // ---- streams ---------------------------------------------------------------------------

  /** A stream of kind index {@code k} opened (+1) or closed (-1). */
  public void stream(int k, int delta) {
    streams[k].addAndGet(delta);
  }

  public int streams(int k) {
    return streams[k].get();
  }

  /** The pre-resolved byte counter of kind index {@code k} and {@link #TO_AGENT}/{@link #FROM_AGENT}. */
  public Counter bytes(int k, int direction) {
    return bytes[k][direction];
  }

  /**
   * A stream open of kind index {@code k} ended with {@code result} ({@code ok}, {@code refused},
   * {@code timeout}, {@code unauthorized}, {@code unreachable}, {@code limit}, {@code error});
   * {@code nanos} (&gt;= 0) from the request to the answer, recorded in the latency histogram.
   */
  public void streamOpen(int k, String result, long nanos) {
    int r = resultIndex(result);
    Counter c = r < 0 ? null : opens[k][r];
    if (c == null) {
      // once per kind and result (a registry returns the same meter for the same id); an
      // unexpected result string still counts, through the keyed path
      c = counter("relaymesh.relay.stream.opens", "stream opens and how they ended", "kind",
          KINDS[k], "result", result);
      if (r >= 0) {
        opens[k][r] = c;
      }
    }
    c.increment();
    if (nanos >= 0) {
      openLatency[k].record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The {@code result} label of an open refused with {@code code}. */
  public static String result(ErrorCode code) {
    if (code == null) {
      return "error";
    }
    return switch (code) {
      case CONNECT_REFUSED, REFUSED -> "refused";
      case TIMEOUT -> "timeout";
      case UNAUTHORIZED, FORBIDDEN -> "unauthorized";
      case UNREACHABLE, GOING_AWAY, NOT_FOUND -> "unreachable";
      case LIMIT -> "limit";
      default -> "error";
    };
  }

  /** A forwarded stream: {@code outbound} to another relay, or accepted from one. */
  public void peerForwarded(boolean outbound, String result) {
    counter("relaymesh.relay.peer.forwarded.streams", "client streams forwarded to / accepted"
        + " from another relay", "direction", outbound ? "out" : "in", "result", result)
        .increment();
  }

  // ---- tunnels ---------------------------------------------------------------------------

  /** An RTT sample of a tunnel to an agent ({@code agent}), client or relay. */
  public void rtt(String peer, long nanos) {
    Timer t = switch (peer) {
      case "agent" -> rttAgent;
      case "client" -> rttClient;
      default -> rttRelay;
    };
    t.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Something refused or dropped inside a tunnel (docs/protocol.md §9 reasons). */
  public void refused(String reason) {
    // one map lookup per refusal, no key building: refusals come in floods
    refusals.computeIfAbsent(reason, r -> counter("relaymesh.relay.refusals",
        "limit refusals and drops inside tunnels", "reason", r)).increment();
  }

  private static final String[] RESULTS =
      {"ok", "refused", "timeout", "unauthorized", "unreachable", "limit", "error"};

  private static int resultIndex(String result) {
    for (int i = 0; i < RESULTS.length; i++) {
      if (RESULTS[i].equals(result)) {
        return i;
      }
    }
    return -1;
  }

  public void goAway(boolean sent, ErrorCode code) {
    counter("relaymesh.relay.goaways", "GOAWAY frames", "direction", sent ? "sent" : "received",
        "code", code == null ? "unknown" : code.name()).increment();
  }

  /** A tunnel upgrade refused at {@code endpoint} ({@code agent}, {@code client}, {@code peer}). */
  public void handshakeFailure(String endpoint, String reason) {
    counter("relaymesh.relay.handshake.failures", "tunnel upgrades refused", "endpoint", endpoint,
        "reason", reason).increment();
  }

  /** A TLS handshake on the listener: {@code TLSv1.3}, {@code TLSv1.2} or {@code failed}. */
  public void tlsHandshake(String protocol) {
    counter("relaymesh.relay.tls.handshakes", "TLS handshakes on the listener", "protocol",
        protocol).increment();
  }

  // ---- control plane ---------------------------------------------------------------------

  /** A control-plane call; {@code errorReason} null when it succeeded. */
  public void controlCall(String call, long nanos, String errorReason) {
    String outcome = errorReason == null ? "ok" : "error";
    timers.computeIfAbsent(call + '\0' + outcome, k -> Timer.builder("relaymesh.relay.control.request")
        .tag("call", call).tag("outcome", outcome).description("calls to the control plane")
        .serviceLevelObjectives(CONTROL_SLOS).register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
    if (errorReason != null) {
      counter("relaymesh.relay.control.errors", "failed control-plane calls", "call", call,
          "reason", errorReason).increment();
    }
  }

  // ---- apps ------------------------------------------------------------------------------

  /** An app-host request answered with {@code status}. */
  public void appRequest(int status) {
    int i = status / 100 - 1;
    if (i >= 0 && i < appStatus.length) {
      appStatus[i].increment();
    }
  }

  /** An app request not forwarded, by why. */
  public void appRefused(String reason) {
    counter("relaymesh.relay.app.refusals", "app requests not forwarded", "reason", reason)
        .increment();
  }

  private Counter counter(String name, String description, String... tags) {
    StringBuilder key = new StringBuilder(name);
    for (String t : tags) {
      key.append('\0').append(t);
    }
    return counters.computeIfAbsent(key.toString(), k -> Counter.builder(name).tags(tags)
        .description(description).register(registry));
  }

  @Override
  public void close() {
    metrics.close();
  }

  // ---- public listener: connections and slow-client cuts ---------------------------------

  private final AtomicInteger listenerConnections = new AtomicInteger();
  private volatile boolean listenerConnectionsRegistered;

  /**
   * A connection on the public listener finished its TLS handshake ({@code +1}) or closed
   * ({@code -1}): gauge {@code relaymesh_relay_connections} (registered on first use).
   */
  public void listenerConnection(int delta) {
    if (!listenerConnectionsRegistered) {
      listenerConnectionsRegistered = true;
      gauge("relaymesh.relay.connections", listenerConnections::get,
          "connections open on the public listener (TLS handshake done)");
    }
    listenerConnections.addAndGet(delta);
  }

  public int listenerConnections() {
    return listenerConnections.get();
  }

  /**
   * A connection of the public listener closed by the relay by {@code reason}
   * ({@code tls-handshake-timeout}, {@code tls-handshake-failed}, {@code head-timeout},
   * {@code body-timeout}, {@code body-rate}, {@code keepalive-timeout}, {@code per-address-limit}).
   */
  public void connectionRefused(String reason) {
    refusals.computeIfAbsent("connection\0" + reason, r -> counter(
        "relaymesh.relay.connection.refusals", "connections of the public listener closed by the"
            + " relay (slow or silent clients, or over the per-address connection limit)", "reason",
        reason)).increment();
  }

  /** {@link #connectionRefused} count of {@code reason} so far. */
  public double connectionRefusals(String reason) {
    Counter c = refusals.get("connection\0" + reason);
    return c == null ? 0 : c.count();
  }

  /**
   * A connection-log record the relay gave up on, by {@code reason} ({@code Reporter}:
   * {@code queue-full}, {@code queue-bytes}, {@code refused}).
   */
  public void connectionRecordDropped(String reason) {
    refusals.computeIfAbsent("record\0" + reason, r -> counter(
        "relaymesh.relay.connection.records.dropped", "connection-log records not delivered to "
            + "the control plane", "reason", reason)).increment();
  }

  /** {@link #connectionRecordDropped} count of {@code reason} so far. */
  public double connectionRecordsDropped(String reason) {
    Counter c = refusals.get("record\0" + reason);
    return c == null ? 0 : c.count();
  }

  /** Registers the gauge of connection-log records waiting for the control plane. */
  public void connectionRecordsPending(IntSupplier pending) {
    gauge("relaymesh.relay.connection.records.pending", pending,
        "connection-log records queued or being sent to the control plane");
  }
}
