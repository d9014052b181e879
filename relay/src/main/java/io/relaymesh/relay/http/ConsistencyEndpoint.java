package io.relaymesh.relay.http;

import io.relaymesh.relay.metrics.RelayMetrics;
import io.relaymesh.relay.tunnel.AgentRegistry;
import io.relaymesh.relay.tunnel.TunnelMetrics;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * {@code GET /debug/consistency}: an admin check that compares the relay's internal tables (agent
 * registry, live sessions by type, open streams) with the gauges it exposes at {@code /metrics}
 * (which are kept by open/close events, not read from the tables). {@code 200
 * {"consistent":true,"checks":[...]}} or {@code 500} with {@code "differences"}. Only for the
 * operator: on the public TLS listener it needs {@code Authorization: Bearer <this relay's region
 * token>} (compared in constant time; {@code 401} otherwise, the token is never echoed); on the
 * plain-HTTP admin listener (private network) it needs none, so the token never travels in plain
 * text.
 *
 * <p>The tables and the gauges are read a few moments apart; a comparison is reported as a
 * difference only when it differs in each of {@link #ATTEMPTS} samples {@link #SPACING_MS} apart,
 * so that a tunnel opening during the check does not fail it.
 */
public final class ConsistencyEndpoint {

  public static final String PATH = "/debug/consistency";
  static final int ATTEMPTS = 3;
  static final long SPACING_MS = 100;

  /** One comparison: what the relay's tables say and what the gauge says. */
  public record Check(String name, String gauge, long table, long gaugeValue) {

    public boolean consistent() {
      return table == gaugeValue;
    }

    JsonObject json() {
      return new JsonObject().put("name", name).put("gauge", gauge).put("table", table)
          .put("value", gaugeValue).put("consistent", consistent());
    }
  }

  private final Vertx vertx;
  private final byte[] token;
  private final Supplier<List<Check>> checks;

  /**
   * @param regionToken the relay's own region token ({@code relay.token}): the only accepted
   *     credential
   * @param checks takes one sample of every comparison
   */
  public ConsistencyEndpoint(Vertx vertx, String regionToken, Supplier<List<Check>> checks) {
    this.vertx = vertx;
    this.token = regionToken == null ? null : regionToken.getBytes(StandardCharsets.UTF_8);
    this.checks = checks;
  }

  /** One sample of every comparison of a relay. */
  public static List<Check> check(RelayMetrics m, Tunnels tunnels, AgentRegistry registry,
      IntSupplier inboundPeers) {
    List<Check> all = new ArrayList<>();
    all.add(new Check("agent tunnels in the agent registry", "relaymesh_relay_agent_tunnels",
        registry.tunnelCount(), m.agentTunnels()));
    all.add(new Check("client sessions live", "relaymesh_relay_client_sessions",
        tunnels.sessionCount(TunnelMetrics.Type.CLIENT), m.clientSessions()));
    all.add(new Check("inbound peer sessions live",
        "relaymesh_relay_peer_sessions{direction=\"in\"}", inboundPeers.getAsInt(),
        m.peerSessions(true)));
    all.add(new Check("inbound peer sessions in the session table",
        "relaymesh_relay_peer_sessions{direction=\"in\"}",
        tunnels.sessionCount(TunnelMetrics.Type.PEER_IN), m.peerSessions(true)));
    all.add(new Check("outbound peer sessions live",
        "relaymesh_relay_peer_sessions{direction=\"out\"}",
        tunnels.sessionCount(TunnelMetrics.Type.PEER_OUT), m.peerSessions(false)));
    all.add(new Check("streams on agent tunnels",
        "sum(relaymesh_relay_streams{kind=~\"ssh|tcp|app\"})",
        tunnels.streamCount(TunnelMetrics.Type.AGENT),
        (long) m.streams(RelayMetrics.SSH) + m.streams(RelayMetrics.TCP)
            + m.streams(RelayMetrics.APP)));
    all.add(new Check("streams on outbound peer sessions",
        "relaymesh_relay_streams{kind=\"peer\"}", tunnels.streamCount(TunnelMetrics.Type.PEER_OUT),
        m.streams(RelayMetrics.PEER)));
    for (int k = 0; k < RelayMetrics.KINDS.length; k++) {
      all.add(new Check("streams of kind " + RelayMetrics.KINDS[k] + " not negative",
          "relaymesh_relay_streams{kind=\"" + RelayMetrics.KINDS[k] + "\"}",
          Math.max(0, m.streams(k)), m.streams(k)));
    }
    return all;
  }

  public void handle(HttpServerRequest req) {
    handle(req, true);
  }

  /**
   * @param requireToken false on the plain-HTTP admin listener, which is reachable only from the
   *     private network it is bound to: the region token must not travel there in plain text
   */
  public void handle(HttpServerRequest req, boolean requireToken) {
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      req.response().putHeader("Allow", "GET, HEAD");
      JsonErrors.send(req, 405, "method_not_allowed", req.method() + " is not allowed on "
          + PATH);
      return;
    }
    if (requireToken && !authorized(JsonErrors.bearer(req))) {
      req.response().putHeader("WWW-Authenticate", "Bearer realm=\"relaymesh-relay\"");
      JsonErrors.send(req, 401, "unauthenticated", PATH + " needs 'Authorization: Bearer"
          + " <this relay's region token>'");
      return;
    }
    sample(1, req);
  }

  private void sample(int attempt, HttpServerRequest req) {
    List<Check> now = checks.get();
    boolean ok = now.stream().allMatch(Check::consistent);
    if (ok || attempt >= ATTEMPTS) {
      JsonArray list = new JsonArray();
      JsonArray differences = new JsonArray();
      for (Check c : now) {
        list.add(c.json());
        if (!c.consistent()) {
          differences.add(c.json());
        }
      }
      JsonObject body = new JsonObject().put("consistent", ok).put("samples", attempt)
          .put("checks", list);
      if (!ok) {
        body.put("differences", differences);
      }
      req.response().setStatusCode(ok ? 200 : 500).putHeader("Content-Type", "application/json")
          .putHeader("Cache-Control", "no-store").end(body.encodePrettily());
      return;
    }
    vertx.setTimer(SPACING_MS, t -> sample(attempt + 1, req));
  }

  /** Constant-time comparison with the region token. */
  boolean authorized(String presented) {
    if (token == null || token.length == 0 || presented == null) {
      return false;
    }
    return MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8));
  }
}
