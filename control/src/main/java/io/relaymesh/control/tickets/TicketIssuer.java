package io.relaymesh.control.tickets;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Base64;
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
    return lowS(jwt.serialize());
  }

  /** The order n of P-256; an ES256 signature is {@code r || s}, 32 bytes each. */
  private static final BigInteger N = Curve.P_256.toECParameterSpec().getOrder();
  private static final BigInteger HALF_N = N.shiftRight(1);

  /**
   * The same compact JWS with its ES256 signature in low-{@code s} form: {@code (r, s)} and
   * {@code (r, n - s)} both verify, so every ticket has a second spelling; issuing only
   * {@code s <= n/2} lets relays refuse the other one once no older ticket is valid
   * ({@link #isLowS}; docs/security.md, known limits).
   */
  static String lowS(String compact) {
    return s(compact).compareTo(HALF_N) <= 0 ? compact : flipS(compact);
  }

  /** Whether the compact JWS's ES256 signature is in low-{@code s} form (see {@link #lowS}). */
  public static boolean isLowS(String compact) {
    return s(compact).compareTo(HALF_N) <= 0;
  }

  /** The other spelling of a compact ES256 JWS: its signature {@code (r, s)} as {@code (r, n - s)}. */
  static String flipS(String compact) {
    int dot = compact.lastIndexOf('.');
    byte[] sig = signature(compact);
    byte[] flipped = N.subtract(new BigInteger(1, Arrays.copyOfRange(sig, 32, 64))).toByteArray();
    Arrays.fill(sig, 32, 64, (byte) 0);
    int len = Math.min(flipped.length, 32); // n - s < n < 2^256: 32 bytes, plus a sign byte
    System.arraycopy(flipped, flipped.length - len, sig, 64 - len, len);
    return compact.substring(0, dot + 1) + Base64.getUrlEncoder().withoutPadding()
        .encodeToString(sig);
  }

  private static BigInteger s(String compact) {
    return new BigInteger(1, Arrays.copyOfRange(signature(compact), 32, 64));
  }

  private static byte[] signature(String compact) {
    byte[] sig = Base64.getUrlDecoder().decode(compact.substring(compact.lastIndexOf('.') + 1));
    if (sig.length != 64) {
      throw new IllegalArgumentException("ES256 signature of " + sig.length
          + " bytes, expected 64");
    }
    return sig;
  }
}
