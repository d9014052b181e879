package io.relaymesh.proxy.dial;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link RelayChooser} on synthetic round-trip times: hysteresis, pinning, unreachable relays. */
class RelayChooserTest {

  static RelayRtt rtt(String region, String replica, double ms) {
    return RelayRtt.of(new RelayCandidate(region, replica, "https://" + replica + ".example.com"), ms);
  }

  static RelayRtt down(String region, String replica) {
    return RelayRtt.unreachable(new RelayCandidate(region, replica, "https://" + replica + ".example.com"),
        "connection refused");
  }

  static String chosen(List<RelayRtt> m, String current, String region) {
    return RelayChooser.choose(m, current, region).map(r -> r.relay().key()).orElse(null);
  }

  static List<String> keys(List<RelayRtt> l) {
    return l.stream().map(r -> r.relay().key()).toList();
  }

  @Test
  void withoutACurrentChoiceTheNearestWins() {
    assertThat(chosen(List.of(rtt("us", "us-1", 80), rtt("eu", "eu-1", 12), rtt("ap", "ap-1", 200)), null, null))
        .isEqualTo("eu-1");
  }

  @Test
  void theThresholdNeedsBothTenMillisecondsAndAThird() {
    // 40 -> 29: 11 ms but less than a third (13.3 ms); stays
    assertThat(RelayChooser.worthSwitching(40, 29)).isFalse();
    // 30 -> 21: a third, but only 9 ms; stays
    assertThat(RelayChooser.worthSwitching(30, 21)).isFalse();
    // 30 -> 20: exactly 10 ms and exactly a third: moves
    assertThat(RelayChooser.worthSwitching(30, 20)).isTrue();
    // 9 -> 1: a lot faster in ratio but only 8 ms: stays
    assertThat(RelayChooser.worthSwitching(9, 1)).isFalse();
    // 300 -> 220: 80 ms but not a third: stays; 300 -> 200 moves
    assertThat(RelayChooser.worthSwitching(300, 220)).isFalse();
    assertThat(RelayChooser.worthSwitching(300, 200)).isTrue();
    assertThat(RelayChooser.worthSwitching(20, 25)).isFalse();
  }

  @Test
  void noFlappingOnNoise() {
    // two relays about equally near, measured again and again with +-15 % noise: the first choice
    // sticks, near (20 / 22 ms) and far (100 / 110 ms)
    Random random = new Random(42);
    for (double base : new double[] {20, 100}) {
      assertThat(switchesUnderNoise(random, base, base * 1.1, 0.15)).isZero();
    }
    // the same with a real difference (20 vs 60 ms): exactly one move, then it sticks
    assertThat(switchesUnderNoise(random, 60, 20, 0.15)).isEqualTo(1);
  }

  static int switchesUnderNoise(Random random, double msA, double msB, double noise) {
    String current = "eu-1";
    int switches = 0;
    for (int i = 0; i < 1000; i++) {
      double a = msA * (1 - noise + 2 * noise * random.nextDouble());
      double b = msB * (1 - noise + 2 * noise * random.nextDouble());
      String next = chosen(List.of(rtt("eu", "eu-1", a), rtt("eu", "eu-2", b)), current, null);
      if (current != null && !current.equals(next)) {
        switches++;
      }
      current = next;
    }
    return switches;
  }

  @Test
  void switchesOnARealImprovement() {
    List<RelayRtt> m = List.of(rtt("us", "us-1", 90), rtt("eu", "eu-1", 40));
    assertThat(chosen(m, "us-1", null)).isEqualTo("eu-1");
    // not enough: 90 -> 70
    assertThat(chosen(List.of(rtt("us", "us-1", 90), rtt("eu", "eu-1", 70)), "us-1", null)).isEqualTo("us-1");
  }

  @Test
  void aPinnedRegionIsHonoured() {
    List<RelayRtt> m = List.of(rtt("us", "us-1", 90), rtt("eu", "eu-1", 5), rtt("us", "us-2", 60));
    assertThat(chosen(m, null, "us")).isEqualTo("us-2");
    assertThat(chosen(m, "eu-1", "us")).isEqualTo("us-2");
    assertThat(chosen(m, null, "ap")).isNull();
    assertThat(keys(RelayChooser.chooseSeveral(m, 2, Set.of(), "us"))).containsExactly("us-2", "us-1");
  }

  @Test
  void unreachableRelaysAreExcludedEvenWhenCurrent() {
    List<RelayRtt> m = List.of(down("eu", "eu-1"), rtt("us", "us-1", 95));
    assertThat(chosen(m, "eu-1", null)).isEqualTo("us-1");
    assertThat(chosen(List.of(down("eu", "eu-1")), "eu-1", null)).isNull();
    assertThat(keys(RelayChooser.chooseSeveral(m, 2, Set.of("eu-1"), null))).containsExactly("us-1");
  }

  @Test
  void severalKeepsTheCurrentOnesUnlessAnotherIsMuchNearer() {
    List<RelayRtt> m = List.of(rtt("eu", "eu-1", 10), rtt("eu", "eu-2", 12), rtt("us", "us-1", 80),
        rtt("ap", "ap-1", 150));
    // fresh: the two nearest
    assertThat(keys(RelayChooser.chooseSeveral(m, 2, Set.of(), null))).containsExactly("eu-1", "eu-2");
    // holding eu-1 and us-1: us-1 (80) is replaced by eu-2 (12)
    assertThat(keys(RelayChooser.chooseSeveral(m, 2, Set.of("eu-1", "us-1"), null))).containsExactly("eu-1", "eu-2");
    // holding eu-2 and us-1 where eu-1 is only a little nearer than eu-2: eu-2 stays
    assertThat(keys(RelayChooser.chooseSeveral(m, 2, Set.of("eu-2", "us-1"), null))).containsExactly("eu-1", "eu-2");
    // holding ap-1 while us-1 is 80 vs 150: moves (70 ms, almost half); eu ones are nearer still
    assertThat(keys(RelayChooser.chooseSeveral(m, 1, Set.of("ap-1"), null))).containsExactly("eu-1");
    // noise: holding us-1 and ap-1 against 3 others at similar distances -> no change
    List<RelayRtt> close = List.of(rtt("us", "us-1", 80), rtt("ap", "ap-1", 85), rtt("sa", "sa-1", 78));
    assertThat(keys(RelayChooser.chooseSeveral(close, 2, Set.of("us-1", "ap-1"), null)))
        .containsExactly("us-1", "ap-1");
  }

  @Test
  void severalFillsWithDistinctReplicasAndNeverMoreThanCount() {
    List<RelayRtt> one = List.of(rtt("eu", "eu-1", 10));
    assertThat(keys(RelayChooser.chooseSeveral(one, 2, Set.of(), null))).containsExactly("eu-1");
    // one replica per region: the two picked are in different regions
    List<RelayRtt> perRegion = List.of(rtt("eu", "eu-1", 10), rtt("us", "us-1", 80), rtt("ap", "ap-1", 150));
    List<RelayRtt> two = RelayChooser.chooseSeveral(perRegion, 2, Set.of(), null);
    assertThat(two).extracting(r -> r.relay().region()).containsExactly("eu", "us");
    // holding three (count lowered): the farthest goes
    assertThat(keys(RelayChooser.chooseSeveral(perRegion, 2, Set.of("eu-1", "us-1", "ap-1"), null)))
        .containsExactly("eu-1", "us-1");
    // randomized: always distinct, at most count, all eligible
    Random random = new Random(7);
    for (int i = 0; i < 500; i++) {
      List<RelayRtt> m = new ArrayList<>();
      int n = 1 + random.nextInt(6);
      for (int j = 0; j < n; j++) {
        m.add(random.nextInt(5) == 0 ? down("r" + j, "x" + j) : rtt("r" + j, "x" + j, 1 + random.nextInt(300)));
      }
      int count = 1 + random.nextInt(3);
      Set<String> current = new java.util.HashSet<>(List.of("x" + random.nextInt(6), "x" + random.nextInt(6)));
      List<RelayRtt> picked = RelayChooser.chooseSeveral(m, count, current, null);
      long reachable = m.stream().filter(RelayRtt::reachable).count();
      assertThat(picked).hasSize((int) Math.min(count, reachable)).doesNotHaveDuplicates()
          .allMatch(RelayRtt::reachable);
    }
  }
}
