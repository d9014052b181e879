package io.relaymesh.control.tickets;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import io.relaymesh.control.tickets.TicketException.Reason;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * Peer tickets: what a relay presents to another relay's peer endpoint
 * ({@code /api/v1/tunnel/peer}) to forward client streams one hop. A compact JWS (ES256, the
 * ticket signing keys, {@code typ} {@value #TYPE}) issued by the control plane to a registered
 * relay replica ({@code POST /api/v1/relay/peer-ticket}, relay token): {@code sub} is the
 * caller {@code <region>/<replicaId>}, {@code aud} the one target replica
 * ({@code relaymesh:replica:<region>/<replicaId>}), valid {@link #TTL}. Only the control plane
 * can sign one and only a relay token obtains one, so a client ticket, an agent token or a user
 * session can never open a peer session; the {@code typ} keeps a peer ticket from being taken for
 * a connection ticket and the reverse.
 */
public final class PeerTickets {

  public static final String TYPE = "relaymesh-peer+jwt";
  public static final Duration TTL = Duration.ofMinutes(5);

  /**
   * What a peer ticket says.
   *
   * @param region region of the relay that holds it (the caller)
   * @param replicaId replica id of that relay
   * @param targetRegion region of the relay it opens a peer session to
   * @param targetReplicaId replica id of that relay
   */
  public record Claims(String ticketId, String issuer, String region, String replicaId,
      String targetRegion, String targetReplicaId, Instant issuedAt, Instant expiresAt) {

    /** {@code <region>/<replicaId>} of the caller. */
    public String caller() {
      return region + "/" + replicaId;
    }
  }

  private PeerTickets() {}

  /** The audience naming one replica: {@code relaymesh:replica:<region>/<replicaId>}. */
  public static String audience(String region, String replicaId) {
    return "relaymesh:replica:" + region + "/" + replicaId;
  }

  public static String sign(ECKey key, Claims t) {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .jwtID(t.ticketId())
        .issuer(t.issuer())
        .subject(t.caller())
        .audience(audience(t.targetRegion(), t.targetReplicaId()))
        .issueTime(Date.from(t.issuedAt()))
        .notBeforeTime(Date.from(t.issuedAt()))
        .expirationTime(Date.from(t.expiresAt()))
        .build();
    return TicketIssuer.sign(key, TYPE, claims, "peer ticket");
  }

  /**
   * Verifies a peer ticket presented to replica {@code replicaId} of {@code region}: signature
   * and type, expiry and issue time (with the verifier's skew), audience = exactly this replica,
   * and a well-formed subject. May block to fetch keys (see {@link TicketVerifier}).
   */
  public static Claims verify(TicketVerifier keys, String token, String region, String replicaId)
      throws TicketException {
    JWTClaimsSet c = keys.verifySignature(token, "peer ticket", TYPE);
    Instant now = keys.clock().instant();
    Date exp = c.getExpirationTime();
    Date iat = c.getIssueTime();
    if (exp == null || iat == null || c.getJWTID() == null) {
      throw new TicketException(Reason.MALFORMED, "peer ticket lacks exp, iat or jti");
    }
    if (now.isAfter(exp.toInstant().plus(keys.skew()))) {
      throw new TicketException(Reason.EXPIRED, "peer ticket " + c.getJWTID() + " expired at "
          + exp.toInstant());
    }
    if (iat.toInstant().isAfter(now.plus(keys.skew()))) {
      throw new TicketException(Reason.NOT_YET_VALID, "peer ticket " + c.getJWTID()
          + " is issued in the future (" + iat.toInstant() + ")");
    }
    String mine = audience(region, replicaId);
    List<String> aud = c.getAudience();
    if (aud == null || aud.size() != 1 || !aud.contains(mine)) {
      throw new TicketException(Reason.WRONG_AUDIENCE, "peer ticket " + c.getJWTID() + " is for "
          + aud + ", not for this relay (" + region + "/" + replicaId + ")");
    }
    String sub = c.getSubject();
    int slash = sub == null ? -1 : sub.indexOf('/');
    if (slash <= 0 || slash == sub.length() - 1) {
      throw new TicketException(Reason.MALFORMED, "peer ticket subject is not <region>/<replica>");
    }
    return new Claims(c.getJWTID(), c.getIssuer(), sub.substring(0, slash),
        sub.substring(slash + 1), region, replicaId, iat.toInstant(), exp.toInstant());
  }
}
