package io.relaymesh.control.apps;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketIssuer;
import io.relaymesh.control.tickets.TicketException.Reason;
import io.relaymesh.control.tickets.TicketVerifier;
import java.text.ParseException;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * App tokens: what a relay keeps in a browser's app cookie. A compact JWS (ES256, the ticket
 * signing keys, {@code typ} {@value #TYPE}, audience {@value #AUDIENCE}) that says user
 * {@code username} (session {@code sessionId}) may use app {@code app} (an {@link AppHost}
 * label) until {@code expiresAt}, about a minute after issue. The relay verifies it offline; an
 * expired one whose signature still verifies is exchanged for a fresh one at the control plane
 * ({@code POST /api/v1/relay/apps/refresh}), which re-checks the session and the share — so
 * revoking either takes effect within one token lifetime.
 */
public final class AppTokens {

  public static final String TYPE = "relaymesh-app+jwt";
  public static final String AUDIENCE = "relaymesh:apps";
  public static final String CLAIM_USER_ID = "uid";
  public static final String CLAIM_SESSION_ID = "sid";
  public static final String CLAIM_APP = "app";

  /** What an app token says. */
  public record Claims(String tokenId, String issuer, String username, long userId,
      long sessionId, String app, Instant issuedAt, Instant expiresAt) {

    /** Whether it expired at {@code now}, allowing {@code skew}. */
    public boolean expired(Instant now, java.time.Duration skew) {
      return now.isAfter(expiresAt.plus(skew));
    }
  }

  private AppTokens() {}

  public static String sign(ECKey key, Claims t) {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .jwtID(t.tokenId())
        .issuer(t.issuer())
        .subject(t.username())
        .audience(AUDIENCE)
        .issueTime(Date.from(t.issuedAt()))
        .notBeforeTime(Date.from(t.issuedAt()))
        .expirationTime(Date.from(t.expiresAt()))
        .claim(CLAIM_USER_ID, t.userId())
        .claim(CLAIM_SESSION_ID, t.sessionId())
        .claim(CLAIM_APP, t.app())
        .build();
    return TicketIssuer.sign(key, TYPE, claims, "app token");
  }

  /**
   * Verifies signature, type, audience and issue time, and that the token is for {@code app};
   * does <em>not</em> refuse an expired token (check {@link Claims#expired}: an expired token
   * with a good signature is what a refresh presents). May block to fetch keys (see
   * {@link TicketVerifier}).
   */
  public static Claims verify(TicketVerifier keys, String token, String app)
      throws TicketException {
    JWTClaimsSet c = keys.verifySignature(token, "app token", TYPE);
    List<String> aud = c.getAudience();
    if (aud == null || !aud.contains(AUDIENCE)) {
      throw new TicketException(Reason.WRONG_AUDIENCE, "app token is for " + aud + ", not for"
          + " apps");
    }
    Date exp = c.getExpirationTime();
    Date iat = c.getIssueTime();
    if (exp == null || iat == null) {
      throw new TicketException(Reason.MALFORMED, "app token lacks exp or iat");
    }
    if (iat.toInstant().isAfter(keys.clock().instant().plus(keys.skew()))) {
      throw new TicketException(Reason.NOT_YET_VALID, "app token is issued in the future");
    }
    try {
      Long uid = c.getLongClaim(CLAIM_USER_ID);
      Long sid = c.getLongClaim(CLAIM_SESSION_ID);
      String forApp = c.getStringClaim(CLAIM_APP);
      if (uid == null || sid == null || forApp == null || c.getSubject() == null
          || c.getJWTID() == null) {
        throw new TicketException(Reason.MALFORMED, "app token lacks required claims");
      }
      if (!forApp.equals(app)) {
        throw new TicketException(Reason.WRONG_AUDIENCE, "app token is for app '" + forApp
            + "', not '" + app + "'");
      }
      return new Claims(c.getJWTID(), c.getIssuer(), c.getSubject(), uid, sid, forApp,
          iat.toInstant(), exp.toInstant());
    } catch (ParseException e) {
      throw new TicketException(Reason.MALFORMED, "app token claim has the wrong type: "
          + e.getMessage());
    }
  }
}
