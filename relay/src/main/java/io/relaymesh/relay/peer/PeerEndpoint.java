package io.relaymesh.relay.peer;

import io.relaymesh.control.tickets.PeerTickets;
import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketVerifier;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.apps.AppAuth;
import io.relaymesh.relay.apps.AppsControl;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.http.JsonErrors;
import io.relaymesh.relay.tunnel.AgentRegistry;
import io.relaymesh.relay.tunnel.AgentTunnel;
import io.relaymesh.relay.tunnel.ClientEndpoint;
import io.relaymesh.relay.tunnel.Connector;
import io.relaymesh.relay.tunnel.OpenRequest;
import io.relaymesh.relay.tunnel.TunnelMetrics;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/tunnel/peer}: a peer session from another relay that forwards client
 * streams to agents connected here (one hop). Authenticated with a peer ticket
 * ({@code Authorization: Bearer <jws>}, {@link PeerTickets}) verified offline before the
 * upgrade: signed by the control plane, {@code typ} peer, not expired, audience exactly this
 * replica; anything else (a client ticket, an agent, relay or session token, a peer ticket for
 * another replica) is {@code 401 peer_ticket_<reason>}. The session gets GOAWAY when its peer
 * ticket expires (its streams finish; the other relay dials a new session with a fresh ticket).
 *
 * <p>Every stream on it carries the client's connection ticket in its OPEN metadata
 * ({@code {"ticket", "user", "connectionId", "clientAddress"}}); the ticket is verified in full
 * again here (audience: all relays, this relay's region, or the forwarding relay's region, which
 * the peer ticket proved) and the open is authorized exactly like a client's
 * ({@link OpenRequest#decide}), then opened on the local agent tunnel and spliced
 * ({@link Connector}). App streams (kind {@code APP}, from another relay's app proxy) carry the
 * app label and its app token instead, verified here again ({@link #apps}). A forwarded stream
 * is never forwarded again: an agent that is not
 * connected here is {@code UNREACHABLE}. The relay never opens streams towards the peer.
 *
 * <p>Threading: the session and its streams on the connection's event loop; ticket checks on a
 * worker (they may fetch keys).
 */
public final class PeerEndpoint {

  public static final String PATH = "/api/v1/tunnel/peer";
  private static final Logger LOG = LoggerFactory.getLogger(PeerEndpoint.class);

  private final Vertx vertx;
  private final Tunnels tunnels;
  private final AgentRegistry registry;
  private final TicketVerifier verifier;
  private final Connector connector;
  private final String region;
  private final String replicaId;
  private final AtomicInteger live = new AtomicInteger();
  private volatile AppAuth apps;

  public PeerEndpoint(Vertx vertx, Tunnels tunnels, AgentRegistry registry,
      TicketVerifier verifier, Reporter reporter, String region, String replicaId) {
    this.vertx = vertx;
    this.tunnels = tunnels;
    this.registry = registry;
    this.verifier = verifier;
    this.connector = new Connector(reporter, tunnels);
    this.region = region;
    this.replicaId = replicaId;
  }

  /**
   * Accepts app streams (kind {@code APP}) that other relays' app proxies forward, authorized
   * by {@code auth} ({@link AppAuth#forwarded}); without it they are refused
   * {@code UNSUPPORTED}.
   */
  public PeerEndpoint apps(AppAuth auth) {
    this.apps = auth;
    return this;
  }

  /** Peer sessions currently open to this relay. */
  public int sessionCount() {
    return live.get();
  }

  public void handle(HttpServerRequest req) {
    String token = JsonErrors.bearer(req);
    String remote = String.valueOf(req.remoteAddress());
    if (token == null) {
      tunnels.metrics().handshakeFailure("peer", "unauthenticated");
      LOG.info("peer tunnel from {} refused: no peer ticket (Authorization: Bearer)", remote);
      JsonErrors.send(req, 401, "unauthenticated", "peer tunnel needs 'Authorization: Bearer"
          + " <peer ticket>' (relays only, from POST /api/v1/relay/peer-ticket)");
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    req.pause();
    vertx.executeBlocking(() -> PeerTickets.verify(verifier, token, region, replicaId), false)
        .onComplete(ar -> ctx.runOnContext(v -> {
          if (ar.failed()) {
            refuse(req, remote, ar.cause());
            return;
          }
          PeerTickets.Claims peer = ar.result();
          TunnelMetrics m = tunnels.newTunnelMetrics(TunnelMetrics.Type.PEER_IN);
          tunnels.upgrade(ctx, req, m).onComplete(up -> {
            if (up.failed()) {
              LOG.info("peer tunnel from {} ({}) not opened: {}", remote, peer.caller(),
                  up.cause().getMessage());
              return;
            }
            opened(ctx, up.result(), peer, remote, m);
          });
        }));
  }

  private void refuse(HttpServerRequest req, String remote, Throwable e) {
    if (e instanceof TicketException te) {
      tunnels.metrics().handshakeFailure("peer", ClientEndpoint.handshakeReason(te.reason()));
      LOG.info("peer tunnel from {} refused: {}", remote, te.getMessage());
      if (te.reason() == TicketException.Reason.KEYS_UNAVAILABLE) {
        JsonErrors.send(req, 503, "control_plane_unavailable",
            "the relay cannot fetch the ticket keys right now: " + te.getMessage());
      } else {
        JsonErrors.send(req, 401, "peer_ticket_" + te.reason().name().toLowerCase(Locale.ROOT),
            "not a valid peer ticket for relay " + region + "/" + replicaId
                + " (peer tunnels are for relays only): " + te.getMessage());
      }
    } else {
      tunnels.metrics().handshakeFailure("peer", "error");
      LOG.warn("peer tunnel from {} refused: peer ticket check failed: {}", remote, e.toString());
      JsonErrors.send(req, 500, "internal", "peer ticket check failed");
    }
  }

  private void opened(Context ctx, Session session, PeerTickets.Claims peer, String remote,
      TunnelMetrics m) {
    String id = tunnels.nextId("pt");
    Instant started = Instant.now();
    live.incrementAndGet();
    tunnels.metrics().peerSession(true, 1);
    LOG.atInfo().setMessage("peer tunnel open").addKeyValue("tunnel_id", id)
        .addKeyValue("direction", "in").addKeyValue("peer", peer.caller())
        .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", remote)
        .addKeyValue("ticket_id", peer.ticketId())
        .addKeyValue("expires", peer.expiresAt()).log();
    session.openHandler(s -> onOpen(ctx, peer, id, s));
    long until = Duration.between(Instant.now(), peer.expiresAt().plus(verifier.skew()))
        .toMillis();
    long timer = vertx.setTimer(Math.max(1, until), t -> {
      if (!session.isClosed()) {
        LOG.info("peer tunnel {}: peer ticket of {} expired; GOAWAY", id, peer.caller());
        session.goAway(ErrorCode.NO_ERROR, "peer ticket expired; dial again with a fresh one");
      }
    });
    session.closeFuture().onComplete(x -> {
      vertx.cancelTimer(timer);
      live.decrementAndGet();
      tunnels.metrics().peerSession(true, -1);
      LOG.atInfo().setMessage("peer tunnel closed").addKeyValue("tunnel_id", id)
          .addKeyValue("direction", "in").addKeyValue("peer", peer.caller())
          .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", remote)
          .addKeyValue("streams", m.streams()).addKeyValue("bytes_in", m.bytesReceived())
          .addKeyValue("bytes_out", m.bytesSent())
          .addKeyValue("duration_ms", Duration.between(started, Instant.now()).toMillis())
          .addKeyValue("reason", Tunnels.closeReason(x)).log();
    });
  }

  private void onOpen(Context ctx, PeerTickets.Claims peer, String tunnelId, Stream stream) {
    long startNanos = System.nanoTime();
    String label = tunnelId;
    JsonObject meta;
    try {
      meta = stream.metadata() == null || stream.metadata().length() == 0 ? new JsonObject()
          : new JsonObject(stream.metadata());
    } catch (DecodeException | ClassCastException e) {
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, ErrorCode.PROTOCOL_ERROR,
          "OPEN metadata is not a JSON object");
      return;
    }
    if (stream.kind() == WireSpec.KIND_APP) {
      appStream(ctx, peer, label, meta, stream, startNanos);
      return;
    }
    Object ticket = meta.getValue("ticket");
    if (!(ticket instanceof String clientTicket)) {
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, ErrorCode.UNAUTHORIZED, "a forwarded stream needs the"
          + " client's ticket in its OPEN metadata ({\"ticket\": ...})");
      return;
    }
    Object address = meta.getValue("clientAddress");
    String clientAddress = address instanceof String a ? a : null;
    vertx.executeBlocking(() -> verifier.verify(clientTicket, peer.region()), false)
        .onComplete(ar -> ctx.runOnContext(v -> {
          if (ar.failed()) {
            String why = ar.cause() instanceof TicketException te
                ? ClientEndpoint.humanReason(te.reason()) + ": " + te.getMessage()
                : "ticket check failed";
            connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, ErrorCode.UNAUTHORIZED, why);
            return;
          }
          authorized(ctx, peer, label, clientAddress,
              OpenRequest.decide(ar.result(), null, stream.kind(), stream.target()), stream,
              startNanos);
        }));
  }

  /**
   * An app proxy connection another relay forwards: OPEN kind {@code APP}, target
   * {@code 127.0.0.1:<port>}, metadata {@code {"app": <label>, "appToken", "user",
   * "connectionId", "clientAddress"}}. The app is resolved here again and the app token verified
   * here ({@link AppAuth#forwarded}: public share, or a genuine unexpired token for exactly this
   * app); the agent and port come from this relay's resolution, the target must name that port.
   * Then a TCP stream to the agent's loopback port, spliced ({@link Connector}); the agent sees
   * {@code {"user", "connectionId", "clientAddress", "app", "via"}}, never the token.
   */
  private void appStream(Context ctx, PeerTickets.Claims peer, String label, JsonObject meta,
      Stream stream, long startNanos) {
    AppAuth auth = apps;
    Object app = meta.getValue("app");
    Object token = meta.getValue("appToken");
    Object address = meta.getValue("clientAddress");
    String clientAddress = address instanceof String a ? a : null;
    if (auth == null) {
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, ErrorCode.UNSUPPORTED,
          "relay " + region + "/" + replicaId + " does not accept forwarded app streams");
      return;
    }
    if (!(app instanceof String appLabel) || (token != null && !(token instanceof String))) {
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos,
          ErrorCode.PROTOCOL_ERROR, "a forwarded app stream needs {\"app\": <app label>} (and"
          + " \"appToken\" as a string) in its OPEN metadata");
      return;
    }
    auth.forwarded(appLabel, (String) token).onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.failed()) {
        ErrorCode code = ar.cause() instanceof AppAuth.PeerRefusal r ? r.code()
            : ErrorCode.INTERNAL;
        connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, code,
            String.valueOf(ar.cause().getMessage()));
        return;
      }
      AppsControl.Resolved resolved = ar.result().app();
      String target = "127.0.0.1:" + resolved.port();
      if (!target.equals(stream.target())) {
        connector.refuse(stream, label, Connector.Forwarding.IN, startNanos,
            ErrorCode.FORBIDDEN, "app " + appLabel + " is port " + resolved.port()
            + ", not target '" + stream.target() + "'");
        return;
      }
      String agentDescription = "agent '" + resolved.agent() + "' of workspace '"
          + resolved.workspaceFullName() + "'";
      AgentTunnel tunnel = registry.pick(resolved.agentId());
      if (tunnel == null) {
        // one hop only: a forwarded stream is never forwarded again
        connector.refuse(stream, label, Connector.Forwarding.IN, startNanos,
            ErrorCode.UNREACHABLE, agentDescription + " is not connected to relay " + region
            + "/" + replicaId);
        return;
      }
      String user = ar.result().username() == null ? "anonymous" : ar.result().username();
      String connectionId = tunnels.nextId("c");
      JsonObject agentMeta = new JsonObject().put("user", user)
          .put("connectionId", connectionId).put("clientAddress", clientAddress)
          .put("app", appLabel).put("via", peer.caller());
      connector.connect(ctx, stream, new Connector.Inbound(label, clientAddress,
          "peer " + peer.caller(), Connector.Forwarding.IN, startNanos), connectionId,
          new Connector.Subject(user, resolved.workspaceFullName(), resolved.agent(), null,
              appLabel, WireSpec.KIND_APP, resolved.port()),
          tunnel.session().open(WireSpec.KIND_TCP, target, agentMeta.toBuffer())
              .map(s -> new Connector.Upstream(s, "agent tunnel " + tunnel.id())));
    }));
  }

  private void authorized(Context ctx, PeerTickets.Claims peer, String label,
      String clientAddress, OpenRequest.Decision decision, Stream stream, long startNanos) {
    if (decision instanceof OpenRequest.Refused r) {
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, r.code(), r.reason());
      return;
    }
    OpenRequest.Allowed ok = (OpenRequest.Allowed) decision;
    TicketClaims claims = ok.claims();
    AgentTunnel tunnel = registry.pick(claims.agentId());
    if (tunnel == null) {
      // one hop only: a forwarded stream is never forwarded again
      connector.refuse(stream, label, Connector.Forwarding.IN, startNanos, ErrorCode.UNREACHABLE, "agent '" + claims.agent()
          + "' of workspace '" + claims.workspace() + "' is not connected to relay " + region
          + "/" + replicaId);
      return;
    }
    String connectionId = tunnels.nextId("c");
    JsonObject agentMeta = new JsonObject().put("user", claims.username())
        .put("connectionId", connectionId).put("clientAddress", clientAddress)
        .put("via", peer.caller());
    connector.connect(ctx, stream, new Connector.Inbound(label, clientAddress,
        "peer " + peer.caller(), Connector.Forwarding.IN, startNanos), connectionId, claims, ok,
        tunnel.session().open(ok.kind(), ok.target(), agentMeta.toBuffer())
            .map(s -> new Connector.Upstream(s, "agent tunnel " + tunnel.id())));
  }
}
