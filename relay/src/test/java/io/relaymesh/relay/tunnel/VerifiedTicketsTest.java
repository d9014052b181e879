package io.relaymesh.relay.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.tickets.TicketClaims;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class VerifiedTicketsTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static TicketClaims claims(Instant expires) {
    return new TicketClaims("t1", "iss", "alice", 1, "dev", 2, "main", 3, 22, List.of("eu"),
        T0.minusSeconds(10), expires);
  }

  /** A verifier that records its calls and completes them only when told. */
  static final class Calls implements Function<String, Future<TicketClaims>> {
    final List<Promise<TicketClaims>> pending = new ArrayList<>();

    @Override
    public Future<TicketClaims> apply(String ticket) {
      Promise<TicketClaims> p = Promise.promise();
      pending.add(p);
      return p.future();
    }
  }

  @Test
  void concurrentOpensWithOneTicketShareOneVerification() {
    VerifiedTickets cache = new VerifiedTickets(Duration.ofSeconds(30));
    Calls calls = new Calls();
    Future<TicketClaims> a = cache.verify("jws", T0, calls);
    Future<TicketClaims> b = cache.verify("jws", T0, calls);
    assertThat(calls.pending).hasSize(1);
    calls.pending.get(0).complete(claims(T0.plusSeconds(60)));
    assertThat(a.result()).isSameAs(b.result());
    // later opens reuse it without verifying again, a different ticket is verified
    assertThat(cache.verify("jws", T0.plusSeconds(50), calls).succeeded()).isTrue();
    cache.verify("other", T0, calls);
    assertThat(calls.pending).hasSize(2);
  }

  @Test
  void anExpiredTicketIsVerifiedAgainSoTheVerifierRefusesIt() {
    VerifiedTickets cache = new VerifiedTickets(Duration.ofSeconds(30));
    Calls calls = new Calls();
    cache.verify("jws", T0, calls);
    calls.pending.get(0).complete(claims(T0.plusSeconds(60)));
    cache.verify("jws", T0.plusSeconds(90), calls); // within the skew: reused
    assertThat(calls.pending).hasSize(1);
    cache.verify("jws", T0.plusSeconds(91), calls); // past expiry + skew: verified again
    assertThat(calls.pending).hasSize(2);
  }

  @Test
  void aFailedVerificationIsNotKept() {
    VerifiedTickets cache = new VerifiedTickets(Duration.ofSeconds(30));
    Calls calls = new Calls();
    Future<TicketClaims> a = cache.verify("jws", T0, calls);
    calls.pending.get(0).fail("bad signature");
    assertThat(a.failed()).isTrue();
    assertThat(cache.size()).isZero();
    cache.verify("jws", T0, calls);
    assertThat(calls.pending).hasSize(2);
  }

  @Test
  void theCacheIsBounded() {
    VerifiedTickets cache = new VerifiedTickets(Duration.ofSeconds(30));
    Calls calls = new Calls();
    for (int i = 0; i < VerifiedTickets.MAX_ENTRIES + 10; i++) {
      cache.verify("jws" + i, T0, calls);
    }
    assertThat(cache.size()).isEqualTo(VerifiedTickets.MAX_ENTRIES);
  }
}
