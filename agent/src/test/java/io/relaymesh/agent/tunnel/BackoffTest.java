package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {
  static final Duration MIN = Duration.ofMillis(250);
  static final Duration MAX = Duration.ofSeconds(30);

  @Test
  void ceilingDoublesFromMinToTheCap() {
    Backoff b = new Backoff(MIN, MAX, new Random(1));
    List<Long> ceilings = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      ceilings.add(b.ceilingMillis());
      b.nextDelayMillis();
    }
    assertThat(ceilings).containsExactly(250L, 500L, 1000L, 2000L, 4000L, 8000L, 16000L, 30000L, 30000L, 30000L,
        30000L, 30000L);
    for (int i = 0; i < 100; i++) { // no overflow however long it fails
      b.nextDelayMillis();
    }
    assertThat(b.ceilingMillis()).isEqualTo(30000L);
    b.reset();
    assertThat(b.ceilingMillis()).isEqualTo(250L);
    assertThat(b.failures()).isZero();
  }

  @Test
  void delaysAreFullyJitteredWithinTheCeiling() {
    Set<Long> distinctFirstDelays = new HashSet<>();
    for (long seed = 0; seed < 200; seed++) {
      Backoff b = new Backoff(MIN, MAX, new Random(seed));
      for (int i = 0; i < 15; i++) {
        long ceiling = b.ceilingMillis();
        long d = b.nextDelayMillis();
        assertThat(d).isBetween(0L, ceiling);
        if (i == 0) {
          distinctFirstDelays.add(d);
        }
      }
    }
    // jitter: 200 agents failing at once do not all wait the same time
    assertThat(distinctFirstDelays.size()).isGreaterThan(100);
    // low and high halves of the range are both used (full jitter, not "equal jitter")
    assertThat(distinctFirstDelays.stream().anyMatch(d -> d < 125)).isTrue();
    assertThat(distinctFirstDelays.stream().anyMatch(d -> d > 125)).isTrue();
  }

  @Test
  void sameSeedSameSequence() {
    Backoff a = new Backoff(MIN, MAX, new Random(42));
    Backoff b = new Backoff(MIN, MAX, new Random(42));
    for (int i = 0; i < 20; i++) {
      assertThat(a.nextDelayMillis()).isEqualTo(b.nextDelayMillis());
    }
  }

  @Test
  void rejectedCredentialsWaitAtLeastHalfTheCapAndGoAwayAtMostMin() {
    Backoff b = new Backoff(MIN, MAX, new Random(7));
    for (int i = 0; i < 100; i++) {
      assertThat(b.rejectedDelayMillis()).isBetween(15000L, 30000L);
      assertThat(b.goAwayDelayMillis()).isBetween(0L, 250L);
    }
  }
}
