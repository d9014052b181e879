package io.relaymesh.control.tickets;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.relaymesh.control.tickets.TicketException.Reason;
import java.io.IOException;
import java.net.URL;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Verifies connection tickets offline against the control plane's published keys (JWKS):
 * ES256 signature, {@code kid}, expiry (with a small clock skew) and audience (this relay's
 * region, or all relays). Keys are cached; an unknown {@code kid} triggers one refresh, at most
 * once per {@code minRefreshInterval}, so a rotated-in key is picked up and a flood of forged
 * kids cannot hammer the control plane. Depends only on nimbus-jose-jwt; used by relays.
 *
 * <p>Thread-safe. {@link #verify} blocks only when it has to fetch keys; call it from a worker
 * thread or pre-fetch with {@link #refresh()}.
 */
public final class TicketVerifier {

  /** Where keys come from. */
  @FunctionalInterface
  public interface KeySource {
    JWKSet fetch() throws IOException;
  }

  /** Three base64url parts, no padding, nothing around them. */
  private static final Pattern COMPACT_JWS =
      Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");

  public static final Duration DEFAULT_SKEW = Duration.ofSeconds(30);
  public static final Duration DEFAULT_MIN_REFRESH = Duration.ofSeconds(10);

  private final KeySource source;
  private final String region;
  private final Clock clock;
  private final Duration skew;
  private final Duration minRefreshInterval;
  private volatile JWKSet keys = new JWKSet();
  private volatile Instant lastRefresh = Instant.EPOCH;
  /**
   * A verifier per key of the current key set (by {@code kid}, checked against the key
   * instance): building one converts the JWK to a JCA public key, which every verify used to
   * do again. Only keys of a fetched set get here (an unknown kid is refused before), and a
   * refresh drops them all, so it holds at most one key set's worth.
   */
  private final Map<String, KeyVerifier> verifiers = new ConcurrentHashMap<>();

  private record KeyVerifier(ECKey key, ECDSAVerifier verifier) {}

  public TicketVerifier(KeySource source, String region, Clock clock, Duration skew,
      Duration minRefreshInterval) {
    this.source = source;
    this.region = region;
    this.clock = clock;
    this.skew = skew;
    this.minRefreshInterval = minRefreshInterval;
  }

  /** A verifier for {@code region} with the default skew and refresh interval. */
  public TicketVerifier(KeySource source, String region) {
    this(source, region, Clock.systemUTC(), DEFAULT_SKEW, DEFAULT_MIN_REFRESH);
  }

  /** Fetches keys from {@code <controlUrl>/api/v1/keys} (5 s timeouts, 64 KiB limit). */
  public static KeySource fromControlPlane(String controlUrl) {
    String base = controlUrl.endsWith("/") ? controlUrl.substring(0, controlUrl.length() - 1) : controlUrl;
    return () -> {
      try {
        return JWKSet.load(new URL(base + "/api/v1/keys"), 5000, 5000, 64 * 1024);
      } catch (ParseException e) {
        throw new IOException("control plane at " + base + " returned an invalid key set: "
            + e.getMessage(), e);
      }
    };
  }

  /** Fetches the key set now. */
  public synchronized void refresh() throws IOException {
    JWKSet fresh = source.fetch();
    keys = fresh;
    verifiers.clear();
    lastRefresh = clock.instant();
  }

  public TicketClaims verify(String ticket) throws TicketException {
    return verify(ticket, null);
  }

  /**
   * Like {@link #verify(String)}, also accepting a ticket for the relays of {@code alsoRegion}
   * (null: none): a stream forwarded by a relay of that region, whose identity a peer ticket
   * proved, may carry a ticket for that relay's region only.
   */
  public TicketClaims verify(String ticket, String alsoRegion) throws TicketException {
    JWTClaimsSet c = verifySignature(ticket, "ticket", TicketIssuer.TYPE);
    Instant now = clock.instant();
    Date exp = c.getExpirationTime();
    Date iat = c.getIssueTime();
    if (exp == null || iat == null) {
      throw new TicketException(Reason.MALFORMED, "ticket lacks exp or iat");
    }
    if (now.isAfter(exp.toInstant().plus(skew))) {
      throw new TicketException(Reason.EXPIRED, "ticket " + c.getJWTID() + " expired at " + exp.toInstant());
    }
    if (iat.toInstant().isAfter(now.plus(skew))) {
      throw new TicketException(Reason.NOT_YET_VALID, "ticket " + c.getJWTID() + " is issued in the future ("
          + iat.toInstant() + ")");
    }
    List<String> aud = c.getAudience();
    if (aud == null || !(aud.contains(TicketClaims.ALL_RELAYS)
        || (region != null && aud.contains(TicketClaims.regionAudience(region)))
        || (alsoRegion != null && aud.contains(TicketClaims.regionAudience(alsoRegion))))) {
      throw new TicketException(Reason.WRONG_AUDIENCE, "ticket " + c.getJWTID() + " is for " + aud
          + ", not for region '" + region + "'"
          + (alsoRegion == null ? "" : " or the forwarding region '" + alsoRegion + "'"));
    }
    try {
      Long uid = c.getLongClaim(TicketClaims.CLAIM_USER_ID);
      Long wsid = c.getLongClaim(TicketClaims.CLAIM_WORKSPACE_ID);
      Long aid = c.getLongClaim(TicketClaims.CLAIM_AGENT_ID);
      Long port = c.getLongClaim(TicketClaims.CLAIM_PORT);
      String ws = c.getStringClaim(TicketClaims.CLAIM_WORKSPACE);
      String agent = c.getStringClaim(TicketClaims.CLAIM_AGENT);
      if (uid == null || wsid == null || aid == null || port == null || ws == null || agent == null
          || c.getSubject() == null || c.getJWTID() == null) {
        throw new TicketException(Reason.MALFORMED, "ticket lacks required claims");
      }
      return new TicketClaims(c.getJWTID(), c.getIssuer(), c.getSubject(), uid, ws, wsid, agent,
          aid, port.intValue(), aud, iat.toInstant(), exp.toInstant());
    } catch (ParseException e) {
      throw new TicketException(Reason.MALFORMED, "ticket claim has the wrong type: " + e.getMessage());
    }
  }

  /**
   * Parses {@code jws}, checks its algorithm (ES256), {@code typ} header ({@code expectedType};
   * a token of another type is refused, so an app token is never taken for a ticket or the
   * reverse) and signature against the published keys; returns its claims unchecked otherwise
   * (expiry and audience are the caller's). {@code what} names the token in messages.
   */
  public JWTClaimsSet verifySignature(String jws, String what, String expectedType)
      throws TicketException {
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(jws);
    } catch (ParseException | RuntimeException e) {
      throw new TicketException(Reason.MALFORMED, what + " is not a signed JWT");
    }
    // the parser trims whitespace and ignores a signature's unused trailing bits: only the exact
    // compact form is a ticket, so no two strings carry the same signed token (docs/fuzzing.md)
    if (!COMPACT_JWS.matcher(jws).matches()
        || !Base64URL.encode(jwt.getSignature().decode()).equals(jwt.getSignature())) {
      throw new TicketException(Reason.MALFORMED, what + " is not in compact JWS form");
    }
    JWSHeader header = jwt.getHeader();
    if (!JWSAlgorithm.ES256.equals(header.getAlgorithm())) {
      throw new TicketException(Reason.UNSUPPORTED_ALGORITHM,
          what + " algorithm " + header.getAlgorithm() + " is not accepted (ES256 only)");
    }
    String kid = header.getKeyID();
    if (kid == null) {
      throw new TicketException(Reason.MALFORMED, what + " has no kid header");
    }
    ECKey key = lookup(kid);
    try {
      if (!jwt.verify(verifier(kid, key))) {
        throw new TicketException(Reason.BAD_SIGNATURE, what + " signature does not verify with key " + kid);
      }
    } catch (JOSEException e) {
      throw new TicketException(Reason.BAD_SIGNATURE, what + " signature cannot be verified with key "
          + kid + ": " + e.getMessage());
    }
    // after the signature: a forged token is reported as forged, whatever its type
    String typ = header.getType() == null ? null : header.getType().getType();
    if (!expectedType.equals(typ)) {
      throw new TicketException(Reason.MALFORMED, what + " has type " + typ + ", expected "
          + expectedType);
    }
    try {
      return jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new TicketException(Reason.MALFORMED, what + " claims are not valid JSON");
    }
  }

  /** The verifier's clock. */
  public Clock clock() {
    return clock;
  }

  /** The clock skew tolerated on expiry and issue times. */
  public Duration skew() {
    return skew;
  }

  /** The (thread-safe) verifier of {@code key}, built once per key. */
  private ECDSAVerifier verifier(String kid, ECKey key) throws JOSEException {
    KeyVerifier v = verifiers.get(kid);
    if (v == null || v.key() != key) {
      v = new KeyVerifier(key, new ECDSAVerifier(key));
      verifiers.put(kid, v);
    }
    return v.verifier();
  }

  private ECKey lookup(String kid) throws TicketException {
    JWK jwk = keys.getKeyByKeyId(kid);
    if (jwk == null) {
      synchronized (this) {
        jwk = keys.getKeyByKeyId(kid);
        if (jwk == null && !clock.instant().isBefore(lastRefresh.plus(minRefreshInterval))) {
          try {
            refresh();
          } catch (IOException e) {
            throw new TicketException(Reason.KEYS_UNAVAILABLE,
                "cannot fetch ticket keys to look up key " + kid + ": " + e.getMessage(), e);
          }
          jwk = keys.getKeyByKeyId(kid);
        }
      }
    }
    if (jwk == null) {
      throw new TicketException(Reason.UNKNOWN_KEY, "ticket is signed with unknown key " + kid);
    }
    if (!(jwk instanceof ECKey ec)) {
      throw new TicketException(Reason.UNKNOWN_KEY, "key " + kid + " is not an EC key");
    }
    return ec;
  }
}
