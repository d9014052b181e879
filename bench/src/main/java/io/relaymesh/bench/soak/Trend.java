package io.relaymesh.bench.soak;

import io.relaymesh.bench.e2e.Stats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The soak's verdict on a sampled series: after a warm-up, the median of the last third of the
 * samples may exceed the median of the first third by at most {@code max(abs, rel x first)}.
 * Medians of thirds ignore single spikes (a GC not yet run, a reconnect's short-lived sockets)
 * and a sawtooth; steady growth over the run moves the last third's median above the first's.
 */
public final class Trend {

  /** The fewest samples (after the warm-up) a verdict is given on; fewer: inconclusive. */
  public static final int MIN_SAMPLES = 6;

  /** Allowed growth: {@code max(abs, rel * firstThirdMedian)}. */
  public record Tolerance(double abs, double rel) {
    double allowed(double base) {
      return Math.max(abs, rel * Math.abs(base));
    }
  }

  /** One sample: seconds since the start of the run, value. */
  public record Sample(double t, double v) {}

  /** PASS, FAIL (grew more than allowed) or INCONCLUSIVE (too few samples after the warm-up). */
  public enum Outcome { PASS, FAIL, INCONCLUSIVE }

  /**
   * The verdict: {@code first}/{@code last} are the first and last sample of the whole series (warm-up
   * included), the medians are over the thirds after the warm-up.
   */
  public record Verdict(Outcome outcome, int n, double first, double last, double firstThird, double lastThird,
      double allowed) {
    public double growth() {
      return lastThird - firstThird;
    }

    public String describe(String unit, double scale) {
      if (outcome == Outcome.INCONCLUSIVE) {
        return String.format(Locale.ROOT, "inconclusive (%d samples after warm-up, need %d)", n, MIN_SAMPLES);
      }
      return String.format(Locale.ROOT, "%s: median %.1f -> %.1f %s (%+.1f, allowed +%.1f; %d samples)",
          outcome, firstThird / scale, lastThird / scale, unit, growth() / scale, allowed / scale, n);
    }
  }

  private Trend() {}

  /** The verdict on {@code series} (in time order; NaN values skipped), ignoring samples before {@code warmupSec}. */
  public static Verdict judge(List<Sample> series, double warmupSec, Tolerance tol) {
    List<Sample> valid = series.stream().filter(s -> !Double.isNaN(s.v())).toList();
    double first = valid.isEmpty() ? Double.NaN : valid.get(0).v();
    double last = valid.isEmpty() ? Double.NaN : valid.get(valid.size() - 1).v();
    List<Double> after = new ArrayList<>();
    for (Sample s : valid) {
      if (s.t() >= warmupSec) {
        after.add(s.v());
      }
    }
    int n = after.size();
    if (n < MIN_SAMPLES) {
      return new Verdict(Outcome.INCONCLUSIVE, n, first, last, Double.NaN, Double.NaN, Double.NaN);
    }
    int third = n / 3;
    double a = Stats.median(after.subList(0, third));
    double b = Stats.median(after.subList(n - third, n));
    double allowed = tol.allowed(a);
    return new Verdict(b - a <= allowed ? Outcome.PASS : Outcome.FAIL, n, first, last, a, b, allowed);
  }
}
