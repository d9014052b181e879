package io.relaymesh.control.tickets;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.util.Date;

/** Signs connection tickets (compact JWS, ES256, {@code kid} and {@code typ} headers). */
public final class TicketIssuer {

  public static final String TYPE = "relaymesh-ticket+jwt";

  private TicketIssuer() {}

  public static String sign(ECKey key, TicketClaims t) {
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .jwtID(t.ticketId())
        .issuer(t.issuer())
        .subject(t.username())
        .audience(t.audience())
        .issueTime(Date.from(t.issuedAt()))
        .notBeforeTime(Date.from(t.issuedAt()))
        .expirationTime(Date.from(t.expiresAt()))
        .claim(TicketClaims.CLAIM_USER_ID, t.userId())
        .claim(TicketClaims.CLAIM_WORKSPACE, t.workspace())
        .claim(TicketClaims.CLAIM_WORKSPACE_ID, t.workspaceId())
        .claim(TicketClaims.CLAIM_AGENT, t.agent())
        .claim(TicketClaims.CLAIM_AGENT_ID, t.agentId())
        .claim(TicketClaims.CLAIM_PORT, t.port())
        .build();
    return sign(key, TYPE, claims, "ticket");
  }

  /**
   * Signs {@code claims} as a compact JWS: ES256 with {@code key}, its {@code kid}, and
   * {@code typ} {@code type} (what keeps one kind of token from being taken for another; see
   * {@link TicketVerifier#verifySignature}). {@code what} names the token in errors.
   */
  public static String sign(ECKey key, String type, JWTClaimsSet claims, String what) {
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256)
        .keyID(key.getKeyID())
        .type(new JOSEObjectType(type))
        .build();
    SignedJWT jwt = new SignedJWT(header, claims);
    try {
      jwt.sign(new ECDSASigner(key));
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign " + what + " with key " + key.getKeyID(), e);
    }
    return jwt.serialize();
  }
}
