package io.relaymesh.relay.tunnel;

import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketVerifier;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.http.JsonErrors;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/tunnel/client}: a client session (CLI {@code ssh}, {@code port-forward}).
 * The ticket ({@code Authorization: Bearer <jws>}) is verified offline before the upgrade
 * ({@code 401} naming the reason). Every stream the client opens is authorized against the ticket
 * ({@link OpenRequest}), then opened on the agent's tunnel; the client's OPEN is answered only
 * after the agent answered (its refusal passed through), and the two streams are
 * {@link Splice spliced} ({@link Connector}). Each spliced connection is logged at open and close
 * and recorded in the control plane's connection log. An agent that is not connected to this
 * relay is reached through the relay that holds it ({@link Forwarder}), with the ticket that
 * authorized the stream in the OPEN metadata for that relay to verify again.
 *
 * <p>The session ticket authorizes opens until it expires (with the verifier's clock skew);
 * per-stream tickets are verified in full at their first open in the session, then reused until
 * they expire ({@link VerifiedTickets}).
 *
 * <p>Threading: the session and its client streams on the connection's event loop; agent streams
 * on their tunnel's event loop (calls between them hop, see {@link Stream}); ticket
 * verification on a worker when it may fetch keys.
 */
public final class ClientEndpoint {

  public static final String PATH = "/api/v1/tunnel/client";
  private static final Logger LOG = LoggerFactory.getLogger(ClientEndpoint.class);

  private final Vertx vertx;
  private final Tunnels tunnels;
  private final AgentRegistry registry;
  private final TicketVerifier verifier;
  private final Connector connector;
  private final Forwarder forwarder;

  public ClientEndpoint(Vertx vertx, Tunnels tunnels, AgentRegistry registry,
      TicketVerifier verifier, Reporter reporter) {
    this(vertx, tunnels, registry, verifier, reporter, null);
  }

  /**
   * With {@code forwarder} (null: none), a stream for an agent that is not connected to this
   * relay is forwarded one hop to the relay that holds it.
   */
  public ClientEndpoint(Vertx vertx, Tunnels tunnels, AgentRegistry registry,
      TicketVerifier verifier, Reporter reporter, Forwarder forwarder) {
    this.vertx = vertx;
    this.tunnels = tunnels;
    this.registry = registry;
    this.verifier = verifier;
    this.connector = new Connector(reporter, tunnels);
    this.forwarder = forwarder;
  }

  public void handle(HttpServerRequest req) {
    String ticket = JsonErrors.bearer(req);
    String remote = String.valueOf(req.remoteAddress());
    if (ticket == null) {
      tunnels.metrics().handshakeFailure("client", "unauthenticated");
      LOG.info("client tunnel from {} refused: no ticket (Authorization: Bearer)", remote);
      JsonErrors.send(req, 401, "unauthenticated",
          "client tunnel needs 'Authorization: Bearer <ticket>' (from POST /api/v1/tickets)");
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    req.pause();
    verify(ticket).onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.failed()) {
        refuse(req, remote, ar.cause());
        return;
      }
      TicketClaims claims = ar.result();
      TunnelMetrics m = tunnels.newTunnelMetrics(TunnelMetrics.Type.CLIENT);
      tunnels.upgrade(ctx, req, m).onComplete(up -> {
        if (up.failed()) {
          LOG.info("client tunnel from {} ({}) not opened: {}", remote, claims.username(),
              up.cause().getMessage());
          return;
        }
        Session session = up.result();
        String id = tunnels.nextId("ct");
        Instant started = Instant.now();
        tunnels.metrics().clientSession(1);
        LOG.atInfo().setMessage("client tunnel open").addKeyValue("tunnel_id", id)
            .addKeyValue("user", claims.username()).addKeyValue("workspace", claims.workspace())
            .addKeyValue("agent", claims.agent()).addKeyValue("port", claims.port())
            .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", remote)
            .addKeyValue("ticket_id", claims.ticketId()).log();
        VerifiedTickets verified = new VerifiedTickets(verifier.skew());
        session.openHandler(s -> onOpen(ctx, ticket, claims, remote, id, verified, s));
        session.closeFuture().onComplete(x -> {
          tunnels.metrics().clientSession(-1);
          LOG.atInfo().setMessage("client tunnel closed").addKeyValue("tunnel_id", id)
              .addKeyValue("user", claims.username())
              .addKeyValue("workspace", claims.workspace()).addKeyValue("agent", claims.agent())
              .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", remote)
              .addKeyValue("streams", m.streams()).addKeyValue("bytes_in", m.bytesReceived())
              .addKeyValue("bytes_out", m.bytesSent())
              .addKeyValue("duration_ms", Duration.between(started, Instant.now()).toMillis())
              .addKeyValue("reason", Tunnels.closeReason(x)).log();
        });
      });
    }));
  }

  /** Verifies on a worker thread (a verification may fetch the key set). */
  private Future<TicketClaims> verify(String ticket) {
    return vertx.executeBlocking(() -> verifier.verify(ticket), false);
  }

  private void refuse(HttpServerRequest req, String remote, Throwable e) {
    if (e instanceof TicketException te) {
      tunnels.metrics().handshakeFailure("client", handshakeReason(te.reason()));
      LOG.info("client tunnel from {} refused: {}", remote, te.getMessage());
      if (te.reason() == TicketException.Reason.KEYS_UNAVAILABLE) {
        JsonErrors.send(req, 503, "control_plane_unavailable",
            "the relay cannot fetch the ticket keys right now: " + te.getMessage());
      } else {
        JsonErrors.send(req, 401, "ticket_" + te.reason().name().toLowerCase(Locale.ROOT),
            humanReason(te.reason()) + ": " + te.getMessage());
      }
    } else {
      tunnels.metrics().handshakeFailure("client", "error");
      LOG.warn("client tunnel from {} refused: ticket check failed: {}", remote, e.toString());
      JsonErrors.send(req, 500, "internal", "ticket check failed");
    }
  }

  /** The {@code reason} label of a handshake refused for a ticket rejection. */
  public static String handshakeReason(TicketException.Reason r) {
    return switch (r) {
      case EXPIRED -> "expired";
      case NOT_YET_VALID -> "not-yet-valid";
      case WRONG_AUDIENCE -> "wrong-region";
      case UNKNOWN_KEY, BAD_SIGNATURE, UNSUPPORTED_ALGORITHM -> "forged";
      case MALFORMED -> "malformed";
      case KEYS_UNAVAILABLE -> "control-unavailable";
    };
  }

  /** A short human sentence for a ticket rejection reason. */
  public static String humanReason(TicketException.Reason r) {
    return switch (r) {
      case EXPIRED -> "ticket expired";
      case UNKNOWN_KEY -> "ticket has an unknown signing key";
      case WRONG_AUDIENCE -> "ticket audience is not this relay";
      case BAD_SIGNATURE -> "ticket signature is invalid";
      case NOT_YET_VALID -> "ticket is not valid yet";
      case UNSUPPORTED_ALGORITHM -> "ticket algorithm is not accepted";
      case MALFORMED -> "ticket is malformed";
      case KEYS_UNAVAILABLE -> "ticket keys are unavailable";
    };
  }

  private void onOpen(Context ctx, String sessionTicket, TicketClaims session, String remote,
      String tunnelId, VerifiedTickets verified, Stream stream) {
    long startNanos = System.nanoTime();
    String perStream;
    try {
      perStream = OpenRequest.streamTicket(stream.metadata());
    } catch (IllegalArgumentException e) {
      refuse(stream, tunnelId, startNanos, ErrorCode.PROTOCOL_ERROR, e.getMessage());
      return;
    }
    if (perStream == null) {
      OpenRequest.Refused expired = OpenRequest.expiredSessionTicket(session, Instant.now(),
          verifier.skew());
      if (expired != null) {
        refuse(stream, tunnelId, startNanos, expired.code(), expired.reason());
        return;
      }
      authorized(ctx, sessionTicket, OpenRequest.decide(session, null, stream.kind(),
          stream.target()), remote, tunnelId, stream, startNanos);
      return;
    }
    Future<TicketClaims> checked = verified.verify(perStream, Instant.now(),
        t -> verify(t).transform(ar -> {
          // back on the session's context: VerifiedTickets is confined to it
          io.vertx.core.Promise<TicketClaims> p = io.vertx.core.Promise.promise();
          ctx.runOnContext(v -> p.handle(ar));
          return p.future();
        }));
    checked.onComplete(ar -> {
      if (ar.failed()) {
        String why = ar.cause() instanceof TicketException te
            ? humanReason(te.reason()) + ": " + te.getMessage() : "stream ticket check failed";
        refuse(stream, tunnelId, startNanos, ErrorCode.UNAUTHORIZED, why);
        return;
      }
      authorized(ctx, perStream, OpenRequest.decide(session, ar.result(), stream.kind(),
          stream.target()), remote, tunnelId, stream, startNanos);
    });
  }

  private void refuse(Stream stream, String tunnelId, long startNanos, ErrorCode code,
      String reason) {
    connector.refuse(stream, tunnelId, Connector.Forwarding.NONE, startNanos, code, reason);
  }

  private void authorized(Context ctx, String rawTicket, OpenRequest.Decision decision,
      String remote, String tunnelId, Stream client, long startNanos) {
    if (decision instanceof OpenRequest.Refused r) {
      refuse(client, tunnelId, startNanos, r.code(), r.reason());
      return;
    }
    OpenRequest.Allowed ok = (OpenRequest.Allowed) decision;
    TicketClaims claims = ok.claims();
    String agent = "agent '" + claims.agent() + "' of workspace '" + claims.workspace() + "'";
    String connectionId = tunnels.nextId("c");
    JsonObject meta = new JsonObject().put("user", claims.username())
        .put("connectionId", connectionId).put("clientAddress", host(remote));
    AgentTunnel tunnel = registry.pick(claims.agentId());
    if (tunnel != null) {
      connector.connect(ctx, client, new Connector.Inbound(tunnelId, host(remote), null,
          Connector.Forwarding.NONE, startNanos), connectionId, claims, ok, tunnel.session().open(ok.kind(), ok.target(),
          meta.toBuffer()).map(s -> new Connector.Upstream(s, "agent tunnel " + tunnel.id())));
      return;
    }
    if (forwarder == null) {
      refuse(client, tunnelId, startNanos, ErrorCode.UNREACHABLE, agent
          + " is not connected to this relay");
      return;
    }
    // one hop to the relay that holds the agent; it verifies the ticket that authorized this
    // stream again and authorizes the open itself
    meta.put("ticket", rawTicket);
    Future<Forwarder.Forwarded> forwarded = forwarder.open(claims.agentId(), agent, ok.kind(),
        ok.target(), meta);
    forwarded.onComplete(ar -> {
      String via = ar.succeeded() ? "forwarded to " + ar.result().relay() : null;
      connector.connect(ctx, client, new Connector.Inbound(tunnelId, host(remote), via,
          Connector.Forwarding.OUT, startNanos), connectionId, claims, ok, forwarded.map(f -> new Connector.Upstream(f.stream(),
          "peer tunnel to " + f.relay(), "relay " + f.relay() + " (holding the agent)")));
    });
  }

  private static String host(String address) {
    int colon = address.lastIndexOf(':');
    return colon > 0 ? address.substring(0, colon) : address;
  }
}
