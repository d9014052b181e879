package io.relaymesh.relay.http;

import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.vertx.core.http.HttpServerRequest;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * {@code GET /metrics}: the relay's tunnel counters in the Prometheus text format, rendered from
 * {@link CountingSessionMetrics}. A stop-gap until the Micrometer registry (same names).
 */
public final class MetricsEndpoint {

  private final CountingSessionMetrics metrics;
  private final IntSupplier sessions;
  private final IntSupplier agentTunnels;
  private final BooleanSupplier ready;

  public MetricsEndpoint(CountingSessionMetrics metrics, IntSupplier sessions,
      IntSupplier agentTunnels, BooleanSupplier ready) {
    this.metrics = metrics;
    this.sessions = sessions;
    this.agentTunnels = agentTunnels;
    this.ready = ready;
  }

  public void handle(HttpServerRequest req) {
    StringBuilder b = new StringBuilder(2048);
    gauge(b, "relaymesh_relay_ready", "1 when registered and accepting tunnels",
        ready.getAsBoolean() ? 1 : 0);
    gauge(b, "relaymesh_relay_tunnel_sessions", "live tunnel sessions (agents and clients)",
        sessions.getAsInt());
    gauge(b, "relaymesh_relay_agent_tunnels", "live agent tunnels", agentTunnels.getAsInt());
    counter(b, "relaymesh_relay_tunnel_streams_opened_total", "streams opened",
        metrics.streamsOpened());
    counter(b, "relaymesh_relay_tunnel_streams_closed_total", "streams closed",
        metrics.streamsClosed());
    counter(b, "relaymesh_relay_tunnel_received_bytes_total", "stream payload bytes received",
        metrics.bytesIn());
    counter(b, "relaymesh_relay_tunnel_sent_bytes_total", "stream payload bytes sent",
        metrics.bytesOut());
    counter(b, "relaymesh_relay_tunnel_goaways_sent_total", "GOAWAY frames sent",
        metrics.goAwaysSent());
    counter(b, "relaymesh_relay_tunnel_goaways_received_total", "GOAWAY frames received",
        metrics.goAwaysReceived());
    b.append("# HELP relaymesh_relay_tunnel_refusals_total refused or dropped tunnel work\n")
        .append("# TYPE relaymesh_relay_tunnel_refusals_total counter\n");
    for (Map.Entry<String, Long> e : metrics.refusals().entrySet()) {
      b.append("relaymesh_relay_tunnel_refusals_total{reason=\"")
          .append(e.getKey().replace("\\", "\\\\").replace("\"", "\\\"")).append("\"} ")
          .append(e.getValue()).append('\n');
    }
    req.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .putHeader("Cache-Control", "no-store").end(b.toString());
  }

  private static void gauge(StringBuilder b, String name, String help, long value) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(" gauge\n")
        .append(name).append(' ').append(value).append('\n');
  }

  private static void counter(StringBuilder b, String name, String help, long value) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(value).append('\n');
  }
}
