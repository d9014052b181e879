package io.relaymesh.control.tickets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link TicketVerifier} without a control plane: the verifier it keeps per key follows the key
 * set (a key re-published under the same {@code kid} after a refresh is the one checked).
 */
class TicketVerifierTest {

  private static ECKey key(String kid) throws Exception {
    return new ECKeyGenerator(Curve.P_256).keyID(kid).keyUse(KeyUse.SIGNATURE)
        .algorithm(JWSAlgorithm.ES256).generate();
  }

  private static String ticket(ECKey key) {
    Instant now = Instant.now();
    return TicketIssuer.sign(key, new TicketClaims("tk-1", "https://cp", "alice", 7, "alice/dev",
        11, "main", 13, 22, List.of(TicketClaims.ALL_RELAYS), now,
        now.plus(Duration.ofMinutes(5))));
  }

  @Test
  void ticketsAreIssuedInLowSForm() throws Exception {
    ECKey k = key("k1");
    TicketVerifier v = new TicketVerifier(() -> new JWKSet(k.toPublicJWK()), "eu");
    v.refresh();
    for (int i = 0; i < 64; i++) { // a raw ES256 signature has a high s half of the time
      String t = ticket(k);
      assertThat(TicketIssuer.isLowS(t)).as("ticket %d", i).isTrue();
      assertThat(v.verify(t).port()).isEqualTo(22);
      String high = TicketIssuer.flipS(t);
      assertThat(TicketIssuer.isLowS(high)).isFalse();
      assertThat(v.verify(high).port()).as("the other spelling still verifies (relays accept"
          + " it until they require low s)").isEqualTo(22);
      assertThat(TicketIssuer.lowS(high)).isEqualTo(t);
    }
  }

  @Test
  void aKeyReplacedUnderTheSameKidIsTheOneCheckedAfterARefresh() throws Exception {
    ECKey first = key("k1");
    ECKey second = key("k1");
    AtomicReference<JWKSet> published = new AtomicReference<>(new JWKSet(first.toPublicJWK()));
    TicketVerifier v = new TicketVerifier(published::get, "eu");
    v.refresh();
    assertThat(v.verify(ticket(first)).port()).isEqualTo(22);
    assertThat(v.verify(ticket(first)).username()).isEqualTo("alice"); // the kept verifier
    assertThatThrownBy(() -> v.verify(ticket(second)))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.reason()).isEqualTo(TicketException.Reason.BAD_SIGNATURE));

    published.set(new JWKSet(second.toPublicJWK()));
    v.refresh();
    assertThat(v.verify(ticket(second)).port()).isEqualTo(22);
    assertThatThrownBy(() -> v.verify(ticket(first)))
        .isInstanceOfSatisfying(TicketException.class,
            e -> assertThat(e.reason()).isEqualTo(TicketException.Reason.BAD_SIGNATURE));
  }

  @Test
  void everyKeyOfTheSetVerifiesItsOwnTickets() throws Exception {
    ECKey a = key("ka");
    ECKey b = key("kb");
    TicketVerifier v = new TicketVerifier(() -> new JWKSet(List.of(a.toPublicJWK(),
        b.toPublicJWK())), "eu");
    v.refresh();
    for (int i = 0; i < 2; i++) {
      assertThat(v.verify(ticket(a)).agent()).isEqualTo("main");
      assertThat(v.verify(ticket(b)).agent()).isEqualTo("main");
    }
  }
}
