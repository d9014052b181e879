package io.relaymesh.relay.tunnel;

import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.AgentAuthCache;
import io.relaymesh.relay.control.AgentIdentity;
import io.relaymesh.relay.control.ControlException;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.http.JsonErrors;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/tunnel/agent}: an agent's tunnel. The agent token
 * ({@code Authorization: Bearer rma_...}) is checked with the control plane through the
 * {@link AgentAuthCache} before the upgrade: {@code 401} when missing or refused, {@code 503} when
 * the control plane cannot say. The ready session is registered in the {@link AgentRegistry} and
 * its presence reported; the token is checked again every half cache TTL while the tunnel lives,
 * and a revoked token closes it. Agents may not open streams (refused {@code UNSUPPORTED}). The
 * {@code 101} answer names this replica in {@link DialedTunnel#REPLICA_HEADER}
 * ({@code Relaymesh-Replica: <region>/<replica-id>}), so that an agent dialing replicas that share
 * one load-balanced URL knows where each tunnel landed.
 *
 * <p>Threading: request handling on the connection's event loop; the session lives there too.
 */
public final class AgentEndpoint {

  public static final String PATH = "/api/v1/tunnel/agent";
  private static final Logger LOG = LoggerFactory.getLogger(AgentEndpoint.class);

  private final Vertx vertx;
  private final Tunnels tunnels;
  private final AgentRegistry registry;
  private final AgentAuthCache auth;
  private final Reporter reporter;
  private final long recheckMs;

  public AgentEndpoint(Vertx vertx, Tunnels tunnels, AgentRegistry registry, AgentAuthCache auth,
      Reporter reporter, Duration authTtl) {
    this.vertx = vertx;
    this.tunnels = tunnels;
    this.registry = registry;
    this.auth = auth;
    this.reporter = reporter;
    this.recheckMs = Math.max(500, authTtl.toMillis() / 2);
  }

  public void handle(HttpServerRequest req) {
    String token = JsonErrors.bearer(req);
    String remote = String.valueOf(req.remoteAddress());
    if (token == null) {
      tunnels.metrics().handshakeFailure("agent", "unauthenticated");
      LOG.info("agent tunnel from {} refused: no agent token (Authorization: Bearer)", remote);
      JsonErrors.send(req, 401, "unauthenticated",
          "agent tunnel needs 'Authorization: Bearer <agent token>'");
      return;
    }
    if (!Tokens.wellFormed(token, TokenKind.AGENT)) {
      // checked here so that made-up tokens never cost a control-plane request
      tunnels.metrics().handshakeFailure("agent", "malformed");
      LOG.info("agent tunnel from {} refused: the bearer token is not an agent token", remote);
      JsonErrors.send(req, 401, "agent_token_invalid", "not an agent token (rma_ + 43 base64url characters)");
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    req.pause();
    auth.authenticate(token).onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.failed()) {
        refuse(req, remote, ar.cause());
        return;
      }
      AgentIdentity agent = ar.result();
      TunnelMetrics m = tunnels.newTunnelMetrics(TunnelMetrics.Type.AGENT);
      // who answered: behind one load-balanced URL the agent learns which replica it reached
      req.response().putHeader(DialedTunnel.REPLICA_HEADER, tunnels.relayName());
      tunnels.upgrade(ctx, req, m).onComplete(up -> {
        if (up.failed()) {
          LOG.info("agent tunnel from {} for {} not opened: {}", remote, agent.describe(),
              up.cause().getMessage());
          return;
        }
        Session session = up.result();
        session.openHandler(s -> s.reject(ErrorCode.UNSUPPORTED,
            "agents do not open streams to the relay in relaymesh.v1"));
        session.ready().onSuccess(x -> opened(session, agent, token, remote, m));
      });
    }));
  }

  private void refuse(HttpServerRequest req, String remote, Throwable e) {
    if (e instanceof ControlException ce && ce.status() == 403) {
      tunnels.metrics().handshakeFailure("agent", "revoked");
      LOG.info("agent tunnel from {} refused: agent token is revoked or unknown", remote);
      JsonErrors.send(req, 401, "agent_token_invalid",
          "agent token is revoked or unknown (was its workspace deleted?)");
    } else {
      tunnels.metrics().handshakeFailure("agent", "control-unavailable");
      LOG.warn("agent tunnel from {} refused: cannot check its token: {}", remote, e.getMessage());
      JsonErrors.send(req, 503, "control_plane_unavailable",
          "the relay cannot check agent tokens right now (control plane unreachable); retry");
    }
  }

  private void opened(Session session, AgentIdentity agent, String token, String remote,
      TunnelMetrics m) {
    AgentTunnel tunnel = new AgentTunnel(tunnels.nextId("at"), agent, session, remote,
        Instant.now());
    registry.add(tunnel);
    tunnels.metrics().agentTunnel(1);
    reporter.presence(agent.agentId(), agent.describe(), true);
    LOG.atInfo().setMessage("agent tunnel open").addKeyValue("tunnel_id", tunnel.id())
        .addKeyValue("agent", agent.agent()).addKeyValue("workspace", agent.fullName())
        .addKeyValue("agent_id", agent.agentId()).addKeyValue("relay", tunnels.relayName())
        .addKeyValue("remote", remote).log();
    long timer = vertx.setPeriodic(recheckMs, id -> auth.authenticate(token).onFailure(e -> {
      if (e instanceof ControlException ce && ce.status() == 403 && !session.isClosed()) {
        LOG.info("agent tunnel {}: token of {} was revoked; closing", tunnel.id(),
            agent.describe());
        session.close(ErrorCode.UNAUTHORIZED, "agent token revoked");
      }
    }));
    session.closeFuture().onComplete(x -> {
      vertx.cancelTimer(timer);
      tunnels.metrics().agentTunnel(-1);
      if (registry.remove(tunnel)) {
        reporter.presence(agent.agentId(), agent.describe(), false);
      }
      LOG.atInfo().setMessage("agent tunnel closed").addKeyValue("tunnel_id", tunnel.id())
          .addKeyValue("agent", agent.agent()).addKeyValue("workspace", agent.fullName())
          .addKeyValue("agent_id", agent.agentId()).addKeyValue("relay", tunnels.relayName())
          .addKeyValue("remote", remote).addKeyValue("streams", m.streams())
          .addKeyValue("bytes_in", m.bytesReceived()).addKeyValue("bytes_out", m.bytesSent())
          .addKeyValue("duration_ms", Duration.between(tunnel.openedAt(), Instant.now())
              .toMillis())
          .addKeyValue("reason", Tunnels.closeReason(x)).log();
    });
  }

  /** Reports presence of every agent again (after a re-registration reset it). */
  public void reportAllPresent() {
    for (AgentTunnel t : registry.tunnels()) {
      reporter.presence(t.agent().agentId(), t.agent().describe(), true);
    }
  }
}
