package io.relaymesh.proxy.dial;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Picks the nearest relay replica(s) from {@link RelayRtt} measurements, with hysteresis so that
 * noise does not make a client or agent flap between relays: a current choice is left only for a
 * replica that is at least {@link #MIN_GAIN_MILLIS} <em>and</em> at least
 * {@link #MIN_GAIN_FRACTION} of the current round trip faster ({@link #worthSwitching}). With
 * 60 ms to the current relay a replacement needs 40 ms or less; with 12 ms it needs 2 ms or less.
 *
 * <p>Only reachable replicas (a measurement, no error) of the pinned region (when one is pinned)
 * are eligible; a current choice that is no longer eligible is dropped at once. Ties are broken by
 * the replica key so that the answer is deterministic.
 *
 * <p>Pure functions, no state: shared by the CLI ({@link #choose}) and the agent
 * ({@link #chooseSeveral}).
 */
public final class RelayChooser {

  /** A move must gain at least this many milliseconds of round trip. */
  public static final double MIN_GAIN_MILLIS = 10.0;
  /** ... and at least this fraction of the current round trip ("a third faster"). */
  public static final double MIN_GAIN_FRACTION = 1.0 / 3.0;

  private static final Comparator<RelayRtt> NEAREST = Comparator.comparingDouble((RelayRtt r) -> r.millis())
      .thenComparing(r -> r.relay().key());

  private RelayChooser() {
  }

  /** Whether a replica at {@code candidateMillis} is enough better than the current one. */
  public static boolean worthSwitching(double currentMillis, double candidateMillis) {
    double gain = currentMillis - candidateMillis;
    return gain >= MIN_GAIN_MILLIS && gain >= currentMillis * MIN_GAIN_FRACTION;
  }

  /** The reachable replicas of {@code pinnedRegion} (any when null), nearest first. */
  public static List<RelayRtt> eligible(Collection<RelayRtt> measured, String pinnedRegion) {
    List<RelayRtt> out = new ArrayList<>();
    for (RelayRtt r : measured) {
      if (r.reachable() && (pinnedRegion == null || pinnedRegion.equals(r.relay().region()))) {
        out.add(r);
      }
    }
    out.sort(NEAREST);
    return out;
  }

  /**
   * The replica to use: the current one ({@code currentKey}, a {@link RelayCandidate#key()}) while
   * it stays eligible and no other is {@link #worthSwitching worth switching} to, else the nearest.
   * Empty when no replica is eligible.
   */
  public static Optional<RelayRtt> choose(Collection<RelayRtt> measured, String currentKey, String pinnedRegion) {
    List<RelayRtt> ok = eligible(measured, pinnedRegion);
    if (ok.isEmpty()) {
      return Optional.empty();
    }
    RelayRtt best = ok.get(0);
    for (RelayRtt r : ok) {
      if (r.relay().key().equals(currentKey)) {
        return Optional.of(worthSwitching(r.millis(), best.millis()) ? best : r);
      }
    }
    return Optional.of(best);
  }

  /**
   * Up to {@code count} distinct replicas to hold tunnels to (the agent's case), nearest first.
   * Current replicas ({@code currentKeys}) that stay eligible are kept; free places are filled with
   * the nearest others; then, one at a time, the farthest kept replica is swapped for the nearest
   * other one while that is {@link #worthSwitching worth switching}.
   */
  public static List<RelayRtt> chooseSeveral(Collection<RelayRtt> measured, int count,
      Collection<String> currentKeys, String pinnedRegion) {
    List<RelayRtt> ok = eligible(measured, pinnedRegion);
    List<RelayRtt> keep = new ArrayList<>();
    List<RelayRtt> others = new ArrayList<>();
    for (RelayRtt r : ok) {
      (currentKeys.contains(r.relay().key()) ? keep : others).add(r);
    }
    while (keep.size() > count) {
      keep.remove(keep.size() - 1); // the farthest
    }
    while (keep.size() < count && !others.isEmpty()) {
      keep.add(others.remove(0));
    }
    keep.sort(NEAREST);
    while (!others.isEmpty() && !keep.isEmpty()) {
      RelayRtt worst = keep.get(keep.size() - 1);
      RelayRtt challenger = others.get(0);
      if (!worthSwitching(worst.millis(), challenger.millis())) {
        break;
      }
      keep.remove(keep.size() - 1);
      others.remove(0);
      keep.add(challenger);
      others.add(worst);
      keep.sort(NEAREST);
      others.sort(NEAREST);
    }
    return keep;
  }
}
