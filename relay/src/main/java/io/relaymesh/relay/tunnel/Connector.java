package io.relaymesh.relay.tunnel;

import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.metrics.RelayMetrics;
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

  /** Whether a connection crosses relays: not, forwarded out to another relay, or in from one. */
  public enum Forwarding { NONE, OUT, IN }

  /**
   * Where the inbound stream came from.
   *
   * @param tunnelId the inbound tunnel's id ({@code ct-2}, {@code pt-1})
   * @param clientAddress the client's address (host), as known
   * @param via for the connection log: null for a direct connection, {@code peer us/us-1} on the
   *     relay holding the agent, {@code forwarded to eu/eu-1} on the relay the client used
   * @param forwarding whether the connection crosses relays
   * @param startNanos {@link System#nanoTime()} when the OPEN reached the relay
   */
  public record Inbound(String tunnelId, String clientAddress, String via, Forwarding forwarding,
      long startNanos) {}

  /**
   * Who a relayed connection is for, as authorized: for logs, metrics and the connection log.
   *
   * @param username the user ({@code anonymous} on a public app share)
   * @param ticketId the ticket that authorized it, or null (app streams: an app token or share)
   * @param app the app label of an app stream ({@code 8080--main--dev--alice}), or null
   * @param kind the stream's kind for logs and metrics ({@code WireSpec.KIND_*}; app streams
   *     are {@code KIND_APP} though they are TCP towards the agent)
   * @param port the workspace port
   */
  public record Subject(String username, String workspace, String agent, String ticketId,
      String app, int kind, int port) {

    /** A client stream authorized by a ticket. */
    public static Subject of(TicketClaims claims, OpenRequest.Allowed ok) {
      return new Subject(claims.username(), claims.workspace(), claims.agent(),
          claims.ticketId(), null, ok.kind(), ok.port());
    }
  }

  private final Reporter reporter;
  private final RelayMetrics metrics;
  private final String relayName;

  public Connector(Reporter reporter, Tunnels tunnels) {
    this.reporter = reporter;
    this.metrics = tunnels.metrics();
    this.relayName = tunnels.relayName();
  }

  /**
   * Refuses an inbound OPEN with a log line and counts it ({@code stream_opens_total} with the
   * result of {@code code}; a forwarded one also in {@code peer_forwarded_streams_total}).
   *
   * @param startNanos when the OPEN arrived ({@link System#nanoTime()}), or -1: not timed
   */
  public void refuse(Stream stream, String tunnelId, Forwarding forwarding, long startNanos,
      ErrorCode code, String reason) {
    String result = RelayMetrics.result(code);
    int k = RelayMetrics.kindIndex(stream.kind());
    if (k >= 0) {
      metrics.streamOpen(k, result, startNanos < 0 ? -1 : System.nanoTime() - startNanos);
    }
    if (forwarding != Forwarding.NONE) {
      metrics.peerForwarded(forwarding == Forwarding.OUT, result);
    }
    LOG.atInfo().setMessage("stream refused").addKeyValue("tunnel_id", tunnelId)
        .addKeyValue("stream", stream.id()).addKeyValue("kind", kindLabel(stream.kind()))
        .addKeyValue("target", stream.target()).addKeyValue("relay", relayName)
        .addKeyValue("result", result).addKeyValue("code", code)
        .addKeyValue("reason", reason).log();
    stream.reject(code, reason);
  }

  /**
   * Waits for {@code upstream}, then answers {@code inbound} and splices; a failed upstream
   * refuses the inbound OPEN with the failure's code and reason.
   */
  public void connect(Context ctx, Stream inbound, Inbound in, String connectionId,
      TicketClaims claims, OpenRequest.Allowed ok, Future<Upstream> upstream) {
    connect(ctx, inbound, in, connectionId, Subject.of(claims, ok), upstream);
  }

  /** Like the ticket variant, for any authorized {@link Subject} (app streams). */
  public void connect(Context ctx, Stream inbound, Inbound in, String connectionId,
      Subject ok, Future<Upstream> upstream) {
    Subject claims = ok;
    Instant started = Instant.now();
    upstream.onComplete(ar -> ctx.runOnContext(v -> {
      if (ar.failed()) {
        ErrorCode code = ar.cause() instanceof StreamResetException e ? e.code()
            : ErrorCode.INTERNAL;
        String reason = ar.cause() instanceof StreamResetException e ? e.reason()
            : String.valueOf(ar.cause().getMessage());
        refuse(inbound, in.tunnelId(), in.forwarding(), in.startNanos(), code, reason);
        return;
      }
      Upstream up = ar.result();
      inbound.accept().onComplete(acc -> {
        if (acc.failed()) {
          up.stream().reset(ErrorCode.CANCEL, "client stream went away before it was accepted");
          LOG.info("{}: stream {} gone before accept: {}", in.tunnelId(), inbound.id(),
              acc.cause().getMessage());
          counted(ok, in, "error");
          return;
        }
        counted(ok, in, "ok");
        org.slf4j.spi.LoggingEventBuilder line = LOG.atInfo().setMessage("stream open")
            .addKeyValue("stream_id", connectionId)
            .addKeyValue("kind", kindLabel(ok.kind())).addKeyValue("user", claims.username())
            .addKeyValue("workspace", claims.workspace()).addKeyValue("agent", claims.agent())
            .addKeyValue("port", ok.port()).addKeyValue("tunnel_id", in.tunnelId())
            .addKeyValue("upstream", up.where()).addKeyValue("relay", relayName)
            .addKeyValue("remote", in.clientAddress());
        if (claims.ticketId() != null) {
          line.addKeyValue("ticket_id", claims.ticketId());
        }
        if (claims.app() != null) {
          line.addKeyValue("app", claims.app());
        }
        if (in.via() != null) {
          line.addKeyValue("via", in.via());
        }
        line.log();
        Reporter.Opened record = reporter.opened(record(claims, in, started));
        if (RelayMetrics.kindIndex(ok.kind()) == RelayMetrics.APP
            && in.forwarding() == Forwarding.IN) {
          // TCP on the agent tunnel (counted there as tcp): an app stream while it lives, as
          // the app proxy counts its own (AppForwarder)
          metrics.stream(RelayMetrics.TCP, -1);
          metrics.stream(RelayMetrics.APP, 1);
          up.stream().closeFuture().onComplete(x -> {
            metrics.stream(RelayMetrics.APP, -1);
            metrics.stream(RelayMetrics.TCP, 1);
          });
        }
        Splice.splice(inbound, up.stream(), up.label()).onSuccess(res -> {
          closed(connectionId, claims, in, started, res, record);
        });
      });
    }));
  }

  private void counted(Subject ok, Inbound in, String result) {
    int k = RelayMetrics.kindIndex(ok.kind());
    if (k >= 0) {
      metrics.streamOpen(k, result, in.startNanos() < 0 ? -1
          : System.nanoTime() - in.startNanos());
    }
    if (in.forwarding() != Forwarding.NONE) {
      metrics.peerForwarded(in.forwarding() == Forwarding.OUT, result);
    }
  }

  private void closed(String connectionId, Subject claims, Inbound in, Instant started,
      Splice.Result res, Reporter.Opened record) {
    Subject ok = claims;
    Instant ended = Instant.now();
    org.slf4j.spi.LoggingEventBuilder line = LOG.atInfo().setMessage("stream closed")
        .addKeyValue("stream_id", connectionId)
        .addKeyValue("kind", kindLabel(ok.kind())).addKeyValue("user", claims.username())
        .addKeyValue("workspace", claims.workspace()).addKeyValue("agent", claims.agent())
        .addKeyValue("port", ok.port()).addKeyValue("tunnel_id", in.tunnelId())
        .addKeyValue("relay", relayName).addKeyValue("remote", in.clientAddress())
        .addKeyValue("bytes_in", res.bytesFromClient()).addKeyValue("bytes_out",
            res.bytesToClient())
        .addKeyValue("duration_ms", Duration.between(started, ended).toMillis())
        .addKeyValue("reason", res.closeReason());
    if (claims.app() != null) {
      line.addKeyValue("app", claims.app());
    }
    if (in.via() != null) {
      line.addKeyValue("via", in.via());
    }
    line.log();
    record.ended(ended, res.bytesFromClient(), res.bytesToClient(), res.closeReason());
  }

  /** The connection-log record of an established connection (docs/api.md "Connection"). */
  private static JsonObject record(Subject claims, Inbound in, Instant started) {
    JsonObject record = new JsonObject()
        .put("username", claims.username())
        .put("workspace", claims.workspace())
        .put("agent", claims.agent())
        .put("port", claims.port())
        .put("clientAddress", in.clientAddress())
        .put("startedAt", started.toString());
    if (claims.ticketId() != null) {
      record.put("ticketId", claims.ticketId());
    }
    if (claims.app() != null) {
      record.put("app", claims.app());
    }
    if (in.via() != null) {
      record.put("via", in.via());
    }
    return record;
  }

  /** The {@code kind} of log lines: {@code ssh}, {@code tcp}, {@code app}, else the number. */
  static String kindLabel(int kind) {
    int k = RelayMetrics.kindIndex(kind);
    return k >= 0 ? RelayMetrics.KINDS[k] : String.valueOf(kind);
  }

  static String kindName(int kind) {
    return kind == WireSpec.KIND_SSH ? "SSH" : kind == WireSpec.KIND_TCP ? "TCP" : "kind " + kind;
  }
}
