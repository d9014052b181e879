package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketException.Reason;
import io.relaymesh.control.tickets.TicketVerifier;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Ticket issue and verification, JWKS publication and key rotation. */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class TicketTest {

  static Control c;
  static String alice;
  static String bob;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
    String admin = c.setupAdmin();
    alice = c.createUser(admin, "alice");
    bob = c.createUser(admin, "bob");
    c.createWorkspace(alice, "dev");
    c.createRegion(admin, "eu");
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static Resp request(String token, String workspace, Object port, String region) {
    JsonObject b = new JsonObject().put("workspace", workspace).put("agent", "main").put("port", port);
    if (region != null) {
      b.put("region", region);
    }
    return c.http.post("/api/v1/tickets", token, b);
  }

  static String ticket(String region) {
    Resp r = request(alice, "alice/dev", 22, region);
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().getString("ticket");
  }

  static TicketVerifier verifier(String region, Clock clock) {
    return new TicketVerifier(TicketVerifier.fromControlPlane(c.server.url()), region, clock,
        TicketVerifier.DEFAULT_SKEW, Duration.ZERO);
  }

  @Test
  void ownerGetsASignedTicketThatRelaysVerify() throws Exception {
    Resp r = request(alice, "dev", 22, null);
    assertThat(r.status()).isEqualTo(201);
    String ticket = r.json().getString("ticket");
    SignedJWT jwt = SignedJWT.parse(ticket);
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo(r.json().getString("kid"));
    long lifetime = jwt.getJWTClaimsSet().getExpirationTime().getTime()
        - jwt.getJWTClaimsSet().getIssueTime().getTime();
    assertThat(lifetime).isEqualTo(120_000L);

    TicketClaims claims = verifier("eu", Clock.systemUTC()).verify(ticket);
    assertThat(claims.username()).isEqualTo("alice");
    assertThat(claims.workspace()).isEqualTo("alice/dev");
    assertThat(claims.agent()).isEqualTo("main");
    assertThat(claims.port()).isEqualTo(22);
    assertThat(claims.audience()).containsExactly(TicketClaims.ALL_RELAYS);
    assertThat(claims.issuer()).isEqualTo(c.server.url());
  }

  @Test
  void ticketsAreOnlyIssuedToTheOwnerForExistingTargets() {
    assertThat(request(bob, "alice/dev", 22, null).status()).isEqualTo(404);
    assertThat(request(null, "alice/dev", 22, null).status()).isEqualTo(401);
    assertThat(request(alice, "alice/dev", 70000, null).status()).isEqualTo(400);
    assertThat(request(alice, "alice/dev", "22", null).status()).isEqualTo(400);
    assertThat(request(alice, "alice/nope", 22, null).json().getString("message"))
        .isEqualTo("workspace 'alice/nope' not found");
    Resp noRegion = request(alice, "alice/dev", 22, "mars");
    assertThat(noRegion.status()).isEqualTo(404);
    assertThat(noRegion.code()).isEqualTo("region_not_found");
    Resp noAgent = c.http.post("/api/v1/tickets", alice, new JsonObject()
        .put("workspace", "dev").put("agent", "gpu").put("port", 22));
    assertThat(noAgent.status()).isEqualTo(404);
    assertThat(noAgent.json().getString("message"))
        .isEqualTo("agent 'gpu' of workspace 'alice/dev' not found");
  }

  @Test
  void wrongAudienceIsRejected() throws Exception {
    String forEu = ticket("eu");
    assertThat(verifier("eu", Clock.systemUTC()).verify(forEu).audience())
        .containsExactly("relaymesh:region:eu");
    assertThatThrownBy(() -> verifier("us", Clock.systemUTC()).verify(forEu))
        .isInstanceOf(TicketException.class)
        .satisfies(e -> assertThat(((TicketException) e).reason()).isEqualTo(Reason.WRONG_AUDIENCE));
  }

  @Test
  void expiredTicketsAreRejected() throws Exception {
    String t = ticket(null);
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofMinutes(5)), ZoneOffset.UTC);
    assertThatThrownBy(() -> verifier("eu", later).verify(t))
        .satisfies(e -> assertThat(((TicketException) e).reason()).isEqualTo(Reason.EXPIRED));
    // within the clock skew it still verifies
    Clock edge = Clock.fixed(Instant.now().plus(Duration.ofSeconds(130)), ZoneOffset.UTC);
    assertThat(verifier("eu", edge).verify(t).workspace()).isEqualTo("alice/dev");
  }

  @Test
  void forgedTicketsAreRejected() throws Exception {
    String genuine = ticket(null);
    SignedJWT parsed = SignedJWT.parse(genuine);
    String kid = parsed.getHeader().getKeyID();

    // same claims and kid, signed by an attacker's key
    ECKey attacker = new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).build(),
        parsed.getJWTClaimsSet());
    forged.sign(new ECDSASigner(attacker));
    assertReason(forged.serialize(), Reason.BAD_SIGNATURE);

    // claims changed after signing (port 22 -> 5432)
    String[] parts = genuine.split("\\.");
    String payload = new String(java.util.Base64.getUrlDecoder().decode(parts[1]))
        .replace("\"port\":22", "\"port\":5432");
    String tampered = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(payload.getBytes()) + "." + parts[2];
    assertReason(tampered, Reason.BAD_SIGNATURE);

    // HMAC with the public key as secret, unknown kid, garbage
    SignedJWT hs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).build(),
        parsed.getJWTClaimsSet());
    hs.sign(new MACSigner(new byte[32]));
    assertReason(hs.serialize(), Reason.UNSUPPORTED_ALGORITHM);
    SignedJWT unknownKid = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256)
        .keyID("not-a-key").build(), parsed.getJWTClaimsSet());
    unknownKid.sign(new ECDSASigner(attacker));
    assertReason(unknownKid.serialize(), Reason.UNKNOWN_KEY);
    assertReason("not.a.jwt", Reason.MALFORMED);
  }

  @Test
  void rotationKeepsOldTicketsValidUntilTheyExpireAndVerifiersPickUpNewKeys() throws Exception {
    AtomicInteger fetches = new AtomicInteger();
    TicketVerifier.KeySource remote = TicketVerifier.fromControlPlane(c.server.url());
    TicketVerifier relay = new TicketVerifier(() -> {
      fetches.incrementAndGet();
      return remote.fetch();
    }, "eu", Clock.systemUTC(), TicketVerifier.DEFAULT_SKEW, Duration.ZERO);

    String before = ticket(null);
    String oldKid = SignedJWT.parse(before).getHeader().getKeyID();
    relay.verify(before);
    int fetchesBefore = fetches.get();

    ECKey fresh = Control.await(c.server.rotateSigningKey());
    assertThat(fresh.getKeyID()).isNotEqualTo(oldKid);
    JsonObject jwks = c.http.get("/api/v1/keys", null).json();
    assertThat(c.http.get("/api/v1/keys", null).status()).isEqualTo(200);
    assertThat(jwks.getJsonArray("keys").stream().map(k -> ((JsonObject) k).getString("kid")))
        .startsWith(fresh.getKeyID(), oldKid);
    assertThat(jwks.encode()).doesNotContain("\"d\"");

    String after = ticket(null);
    assertThat(SignedJWT.parse(after).getHeader().getKeyID()).isEqualTo(fresh.getKeyID());
    // the cached verifier still accepts the old ticket, and fetches keys for the new kid
    relay.verify(before);
    assertThat(fetches.get()).isEqualTo(fetchesBefore);
    relay.verify(after);
    assertThat(fetches.get()).isEqualTo(fetchesBefore + 1);

    // once every ticket of the old key has expired (simulated by ageing it), it is unpublished
    c.sql("UPDATE signing_keys SET publish_until = now() - interval '1 second' WHERE kid = '"
        + oldKid + "'");
    JsonObject later = c.http.get("/api/v1/keys", null).json();
    assertThat(later.getJsonArray("keys").stream().map(k -> ((JsonObject) k).getString("kid")))
        .startsWith(fresh.getKeyID()).doesNotContain(oldKid);
    assertThatThrownBy(() -> verifier("eu", Clock.systemUTC()).verify(before))
        .satisfies(e -> assertThat(((TicketException) e).reason()).isEqualTo(Reason.UNKNOWN_KEY));
  }

  @Test
  void retiredKeysStayPublishedForTheTicketLifetime() {
    Control.await(c.server.rotateSigningKey());
    Object seconds = c.query("SELECT extract(epoch FROM publish_until - retired_at)::int "
        + "FROM signing_keys WHERE retired_at IS NOT NULL ORDER BY retired_at DESC LIMIT 1")
        .get(0).get(0);
    // ticket TTL (2 min) plus one minute of margin for clock skew
    assertThat(seconds).isEqualTo(180);
    assertThat(c.query("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL").get(0).get(0))
        .isEqualTo(1L);
  }

  private static void assertReason(String ticket, Reason reason) {
    assertThatThrownBy(() -> verifier("eu", Clock.systemUTC()).verify(ticket))
        .isInstanceOf(TicketException.class)
        .satisfies(e -> assertThat(((TicketException) e).reason()).isEqualTo(reason));
  }
}
