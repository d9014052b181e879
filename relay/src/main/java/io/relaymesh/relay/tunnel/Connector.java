package io.relaymesh.relay.tunnel;

import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.control.Reporter;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second half of every relayed connection, shared by the client endpoint and the peer
 * endpoint: once the upstream stream (on an agent tunnel, or on a peer session to another relay)
 * is open, the inbound OPEN is answered (an upstream refusal is passed through), the two streams
 * are {@link Splice spliced}, and the connection is logged at open and close and recorded in the
 * control plane's connection log (with {@code via} for forwarded connections).
 *
 * <p>Threading: the inbound stream's handlers on {@code ctx}; the upstream's on its own loop.
 */
public final class Connector {

  private static final Logger LOG = LoggerFactory.getLogger(Connector.class);

  /**
   * An opened upstream stream.
   *
   * @param stream the stream towards the agent (directly or through a peer relay)
   * @param where for logs: {@code agent tunnel at-1}, {@code peer tunnel to eu/eu-1}
   * @param label names the upstream in the reason of a reset passed to the client:
   *     {@code agent stream}, {@code relay eu/eu-1 holding the agent}
   */
  public record Upstream(Stream stream, String where, String label) {

    public Upstream(Stream stream, String where) {
      this(stream, where, "agent stream");
    }
  }

  /**
   * Where the inbound stream came from.
   *
   * @param tunnelId for logs: {@code client ct-2}, {@code peer tunnel pt-1 from us/us-1}
   * @param clientAddress the client's address (host), as known
   * @param via for the connection log: null for a direct connection, {@code peer us/us-1} on the
   *     relay holding the agent, {@code forwarded to eu/eu-1} on the relay the client used
   */
  public record Inbound(String tunnelId, String clientAddress, String via) {}

  private final Reporter reporter;

  public Connector(Reporter reporter) {
    this.reporter = reporter;
  }

  /** Refuses an inbound OPEN with a log line. */
  public static void refuse(Stream stream, String tunnelId, ErrorCode code, String reason) {
    LOG.info("{}: stream {} (kind {}, target '{}') refused: {} {}", tunnelId, stream.id(),
        stream.kind(), stream.target(), code, reason);
    stream.reject(code, reason);
  }

  /**
   * Waits for {@code upstream}, then answers {@code inbound} and splices; a failed upstream
   * refuses the inbound OPEN with the failure's code and reason.
   */
  public void connect(Context ctx, Stream inbound, Inbound in, String connectionId,
      TicketClaims claims, OpenRequest.Allowed ok, Future<Upstream> upstream) {
    Instant started = Instant.now();
    upstream.onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.failed()) {
        ErrorCode code = ar.cause() instanceof StreamResetException e ? e.code()
            : ErrorCode.INTERNAL;
        String reason = ar.cause() instanceof StreamResetException e ? e.reason()
            : String.valueOf(ar.cause().getMessage());
        refuse(inbound, in.tunnelId(), code, reason);
        return;
      }
      Upstream up = ar.result();
      inbound.accept().onComplete(acc -> {
        if (acc.failed()) {
          up.stream().reset(ErrorCode.CANCEL, "client stream went away before it was accepted");
          LOG.info("{}: stream {} gone before accept: {}", in.tunnelId(), inbound.id(),
              acc.cause().getMessage());
          return;
        }
        String what = kindName(ok.kind()) + " port " + ok.port();
        LOG.info("connection {} open: user {} -> agent '{}' of workspace '{}' {} ({} stream {}, {}"
            + " stream {}, ticket {}){}", connectionId, claims.username(), claims.agent(),
            claims.workspace(), what, in.tunnelId(), inbound.id(), up.where(), up.stream().id(),
            claims.ticketId(), in.via() == null ? "" : ", " + in.via());
        Splice.splice(inbound, up.stream(), up.label()).onSuccess(res -> closed(connectionId, claims, ok,
            in, started, res));
      });
    }));
  }

  private void closed(String connectionId, TicketClaims claims, OpenRequest.Allowed ok,
      Inbound in, Instant started, Splice.Result res) {
    Instant ended = Instant.now();
    LOG.info("connection {} closed: user {} -> agent '{}' of workspace '{}' port {}, {} bytes"
        + " from client, {} bytes to client, {} ms, {}{}", connectionId, claims.username(),
        claims.agent(), claims.workspace(), ok.port(), res.bytesFromClient(),
        res.bytesToClient(), Duration.between(started, ended).toMillis(), res.closeReason(),
        in.via() == null ? "" : ", " + in.via());
    JsonObject record = new JsonObject()
        .put("username", claims.username())
        .put("workspace", claims.workspace())
        .put("agent", claims.agent())
        .put("port", ok.port())
        .put("clientAddress", in.clientAddress())
        .put("ticketId", claims.ticketId())
        .put("startedAt", started.toString())
        .put("endedAt", ended.toString())
        .put("bytesIn", res.bytesFromClient())
        .put("bytesOut", res.bytesToClient())
        .put("closeReason", truncate(res.closeReason(), 200));
    if (in.via() != null) {
      record.put("via", in.via());
    }
    reporter.connection(record);
  }

  static String kindName(int kind) {
    return kind == WireSpec.KIND_SSH ? "SSH" : kind == WireSpec.KIND_TCP ? "TCP" : "kind " + kind;
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }
}
