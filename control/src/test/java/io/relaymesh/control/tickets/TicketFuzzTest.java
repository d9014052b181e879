package io.relaymesh.control.tickets;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

/**
 * Coverage-guided fuzzing of the ticket parser (docs/fuzzing.md): arbitrary strings and mutated
 * valid tickets are refused with a {@link TicketException} (a reason, a message that does not
 * repeat the ticket); a ticket is accepted only when it is byte-identical to a signed one;
 * nothing else is ever thrown.
 */
class TicketFuzzTest {
  static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
  static final ECKey KEY = key("fuzz-key");
  static final ECKey OTHER = key("fuzz-key"); // same kid, another key: a forgery
  static final String TICKET = ticket(KEY);
  static final String FORGED = ticket(OTHER);
  static final TicketVerifier VERIFIER = new TicketVerifier(
      () -> new JWKSet(KEY.toPublicJWK()), "eu", Clock.fixed(NOW, ZoneOffset.UTC),
      TicketVerifier.DEFAULT_SKEW, Duration.ofDays(1));

  private static ECKey key(String kid) {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.ES256).generate();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String ticket(ECKey key) {
    return TicketIssuer.sign(key, new TicketClaims("tk-1", "https://cp", "alice", 7, "alice/dev",
        11, "main", 13, 22, List.of(TicketClaims.regionAudience("eu")), NOW,
        NOW.plus(Duration.ofMinutes(5))));
  }

  @FuzzTest(maxDuration = "2m")
  void anyStringIsRefused(String input) {
    refused(input);
  }

  /** The valid ticket (or the forged one) with fuzzer-chosen edits. */
  @FuzzTest(maxDuration = "3m")
  void mutatedTicketsAreRefusedUnlessIdentical(FuzzedDataProvider data) throws Exception {
    StringBuilder t = new StringBuilder(data.consumeBoolean() ? TICKET : FORGED);
    int edits = data.consumeInt(0, 4);
    for (int i = 0; i < edits && t.length() > 0; i++) {
      int pos = data.consumeInt(0, t.length() - 1);
      switch (data.consumeInt(0, 3)) {
        case 0:
          t.setCharAt(pos, data.consumeChar());
          break;
        case 1:
          t.deleteCharAt(pos);
          break;
        case 2:
          t.insert(pos, data.consumeString(8));
          break;
        default:
          t.setLength(pos);
      }
    }
    String input = t.toString();
    if (input.equals(TICKET)) {
      assertThat(VERIFIER.verify(input).username()).isEqualTo("alice");
    } else {
      refused(input);
    }
  }

  private static void refused(String input) {
    try {
      TicketClaims c = VERIFIER.verify(input);
      throw new AssertionError("accepted a ticket that is not the signed one: " + c
          + " from " + input);
    } catch (TicketException e) {
      assertThat(e.reason()).isNotNull();
      assertThat(e.getMessage()).isNotBlank();
      if (input != null && input.length() >= 16) {
        assertThat(e.getMessage()).as("the message repeats the ticket").doesNotContain(input);
      }
    }
  }
}
