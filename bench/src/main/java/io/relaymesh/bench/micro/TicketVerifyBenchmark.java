package io.relaymesh.bench.micro;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import io.relaymesh.control.apps.AppTokens;
import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketIssuer;
import io.relaymesh.control.tickets.TicketVerifier;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Offline token checks the relay makes: a connection ticket for every client session and a
 * forwarded app stream's app token ({@link TicketVerifier}, ES256 over nimbus-jose-jwt).
 *
 * <ul>
 *   <li>{@code ticketValid}: {@link TicketVerifier#verify} of a genuine ticket;
 *   <li>{@code ticketExpired}: a genuine but expired ticket (the signature is checked first,
 *       so this costs a full verify plus the exception);
 *   <li>{@code ticketForged}: a ticket signed by a key of the same {@code kid} the relay does
 *       not hold (refused with BAD_SIGNATURE);
 *   <li>{@code appTokenValid}: {@link AppTokens#verify}, the check behind the relay's app
 *       cookie and a forwarded app stream (AppAuth caches its result per token);
 *   <li>{@code jwsNewVerifier} / {@code jwsCachedVerifier}: only parse and signature check of
 *       the valid ticket, with an {@code ECDSAVerifier} built per call (what TicketVerifier did
 *       before it kept one per key) or built once: the same-run price of the per-call build;
 *   <li>{@code jwsCachedVerifierBouncyCastle}: the same with BouncyCastle's ECDSA instead of the
 *       JDK's (SunEC).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TicketVerifyBenchmark {

  private TicketVerifier verifier;
  private String valid;
  private String expired;
  private String forged;
  private String appToken;
  private ECKey publicKey;
  private com.nimbusds.jose.crypto.ECDSAVerifier cachedVerifier;
  private com.nimbusds.jose.crypto.ECDSAVerifier bcVerifier;

  @Setup
  public void setup() throws Exception {
    ECKey key = key("k1");
    ECKey impostor = key("k1"); // same kid, different key pair
    verifier = new TicketVerifier(() -> new JWKSet(key.toPublicJWK()), "eu");
    verifier.refresh();
    publicKey = key.toPublicJWK();
    cachedVerifier = new com.nimbusds.jose.crypto.ECDSAVerifier(publicKey);
    bcVerifier = new com.nimbusds.jose.crypto.ECDSAVerifier(publicKey);
    bcVerifier.getJCAContext().setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
    Instant now = Instant.now();
    valid = TicketIssuer.sign(key, claims(now, now.plus(Duration.ofHours(1))));
    expired = TicketIssuer.sign(key, claims(now.minus(Duration.ofHours(2)),
        now.minus(Duration.ofHours(1))));
    forged = TicketIssuer.sign(impostor, claims(now, now.plus(Duration.ofHours(1))));
    appToken = AppTokens.sign(key, new AppTokens.Claims("t-1", "https://control.example",
        "alice", 7, 9, "web-alice", now, now.plus(Duration.ofHours(1))));
    // sanity: the three tickets are what they claim to be
    verifier.verify(valid);
    expect(expired, TicketException.Reason.EXPIRED);
    expect(forged, TicketException.Reason.BAD_SIGNATURE);
    AppTokens.verify(verifier, appToken, "web-alice");
  }

  private void expect(String ticket, TicketException.Reason reason) {
    try {
      verifier.verify(ticket);
    } catch (TicketException e) {
      if (e.reason() == reason) {
        return;
      }
      throw new IllegalStateException("expected " + reason + ", got " + e.reason(), e);
    }
    throw new IllegalStateException("expected " + reason + ", got a valid ticket");
  }

  private static ECKey key(String kid) throws JOSEException {
    return new ECKeyGenerator(Curve.P_256).keyID(kid).keyUse(KeyUse.SIGNATURE)
        .algorithm(JWSAlgorithm.ES256).generate();
  }

  private static TicketClaims claims(Instant iat, Instant exp) {
    return new TicketClaims("tk-1", "https://control.example", "alice", 7, "alice/dev", 11,
        "main", 13, 8080, List.of(TicketClaims.ALL_RELAYS), iat, exp);
  }

  @Benchmark
  public TicketClaims ticketValid() throws TicketException {
    return verifier.verify(valid);
  }

  @Benchmark
  public Object ticketExpired() {
    try {
      return verifier.verify(expired);
    } catch (TicketException e) {
      return e;
    }
  }

  @Benchmark
  public Object ticketForged() {
    try {
      return verifier.verify(forged);
    } catch (TicketException e) {
      return e;
    }
  }

  @Benchmark
  public AppTokens.Claims appTokenValid() throws TicketException {
    return AppTokens.verify(verifier, appToken, "web-alice");
  }

  @Benchmark
  public boolean jwsNewVerifier() throws Exception {
    return com.nimbusds.jwt.SignedJWT.parse(valid)
        .verify(new com.nimbusds.jose.crypto.ECDSAVerifier(publicKey));
  }

  @Benchmark
  public boolean jwsCachedVerifier() throws Exception {
    return com.nimbusds.jwt.SignedJWT.parse(valid).verify(cachedVerifier);
  }

  @Benchmark
  public boolean jwsCachedVerifierBouncyCastle() throws Exception {
    return com.nimbusds.jwt.SignedJWT.parse(valid).verify(bcVerifier);
  }
}
