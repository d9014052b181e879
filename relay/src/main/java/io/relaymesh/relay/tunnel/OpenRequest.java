package io.relaymesh.relay.tunnel;

import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;

/**
 * Authorization of one client stream OPEN against a ticket (contract: {@code
 * tunnel-endpoints.md}): kind {@code SSH} needs a ticket for port 22; kind {@code TCP} needs
 * target {@code 127.0.0.1:<port>} (or {@code localhost}, {@code [::1]}) with the ticket's port;
 * a per-stream ticket ({@code {"ticket": ...}} in the OPEN metadata) must name the session
 * ticket's workspace and agent. Anything else is refused; a ticket for workspace A can therefore
 * never reach workspace B. The session ticket alone authorizes opens only until it expires
 * ({@link #expiredSessionTicket}); later opens need a per-stream ticket. Pure logic, no I/O.
 */
public final class OpenRequest {

  private OpenRequest() {}

  /** What an OPEN asks for. */
  public sealed interface Decision permits Allowed, Refused {}

  /**
   * The open is allowed.
   *
   * @param claims the ticket that allows it (session or per-stream)
   * @param kind the OPEN kind to use towards the agent
   * @param target the target towards the agent ({@code 127.0.0.1:<port>}, empty for SSH)
   * @param port the workspace port
   */
  public record Allowed(TicketClaims claims, int kind, String target, int port)
      implements Decision {}

  /** The open is refused with {@code code} and a reason for the client. */
  public record Refused(ErrorCode code, String reason) implements Decision {}

  /** The per-stream ticket in {@code metadata}, or {@code null}; throws on malformed JSON. */
  public static String streamTicket(Buffer metadata) {
    if (metadata == null || metadata.length() == 0) {
      return null;
    }
    try {
      Object t = new JsonObject(metadata).getValue("ticket");
      if (t != null && !(t instanceof String)) {
        throw new IllegalArgumentException("OPEN metadata field 'ticket' must be a string");
      }
      return (String) t;
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("OPEN metadata is not a JSON object");
    }
  }

  /**
   * The refusal of an open that only the session ticket authorizes, when that ticket expired
   * more than {@code skew} before {@code now}; {@code null} while it is valid. Without it a
   * session opened with a ticket would authorize new streams for as long as the WebSocket
   * stays up, long after the ticket (and maybe the user's access) ended.
   */
  public static Refused expiredSessionTicket(TicketClaims session, Instant now, Duration skew) {
    if (!now.isAfter(session.expiresAt().plus(skew))) {
      return null;
    }
    return new Refused(ErrorCode.UNAUTHORIZED, "session ticket " + session.ticketId()
        + " for agent '" + session.agent() + "' of workspace '" + session.workspace()
        + "' expired at " + session.expiresAt() + "; send a fresh ticket with the OPEN"
        + " ({\"ticket\": ...}) or reconnect");
  }

  /**
   * Decides an OPEN of {@code kind}/{@code target} on a session authorized by {@code session};
   * {@code stream} is the verified per-stream ticket or {@code null}.
   */
  public static Decision decide(TicketClaims session, TicketClaims stream, int kind,
      String target) {
    TicketClaims claims = session;
    if (stream != null) {
      if (stream.workspaceId() != session.workspaceId() || stream.agentId() != session.agentId()) {
        return new Refused(ErrorCode.UNAUTHORIZED, "stream ticket is for agent '" + stream.agent()
            + "' of workspace '" + stream.workspace() + "', this session is for agent '"
            + session.agent() + "' of workspace '" + session.workspace() + "'");
      }
      claims = stream;
    }
    if (kind == WireSpec.KIND_SSH) {
      if (claims.port() != 22) {
        return new Refused(ErrorCode.UNAUTHORIZED, "ticket is for port " + claims.port()
            + ", an SSH stream needs a ticket for port 22");
      }
      return new Allowed(claims, kind, "", 22);
    }
    if (kind != WireSpec.KIND_TCP) {
      return new Refused(ErrorCode.UNSUPPORTED, "stream kind " + kind
          + " is not supported by this relay (TCP and SSH are)");
    }
    int colon = target.lastIndexOf(':');
    String host = colon < 0 ? "" : target.substring(0, colon);
    int port;
    try {
      port = colon < 0 ? -1 : Integer.parseInt(target.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      return new Refused(ErrorCode.UNREACHABLE, "target '" + target + "' is not host:port");
    }
    String loopback = switch (host) {
      case "127.0.0.1", "localhost" -> "127.0.0.1";
      case "[::1]", "::1" -> "[::1]";
      default -> null;
    };
    if (loopback == null) {
      return new Refused(ErrorCode.FORBIDDEN, "target '" + target
          + "' is not a loopback address of the workspace (127.0.0.1 or [::1])");
    }
    if (port != claims.port()) {
      return new Refused(ErrorCode.UNAUTHORIZED, "ticket is for port " + claims.port()
          + " of agent '" + claims.agent() + "' of workspace '" + claims.workspace()
          + "', not port " + port);
    }
    return new Allowed(claims, kind, loopback + ":" + port, port);
  }
}
