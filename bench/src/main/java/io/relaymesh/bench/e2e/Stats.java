package io.relaymesh.bench.e2e;

import java.util.Arrays;
import java.util.List;

/** Percentiles (nearest rank) and medians. */
public final class Stats {

  private Stats() {}

  /** Nearest-rank percentile {@code p} (0..100) of {@code values} (not modified); NaN when empty. */
  public static double percentile(double[] values, double p) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] a = values.clone();
    Arrays.sort(a);
    int i = (int) Math.ceil(p / 100.0 * a.length) - 1;
    return a[Math.max(0, Math.min(a.length - 1, i))];
  }

  /** Percentile of nanosecond samples, in microseconds. */
  static double percentileUs(long[] ns, double p) {
    return percentile(Arrays.stream(ns).mapToDouble(x -> x / 1e3).toArray(), p);
  }

  /** Median (mean of the two middle values for an even count); NaN when empty or any is NaN. */
  public static double median(List<Double> values) {
    if (values.isEmpty() || values.stream().anyMatch(v -> v == null || v.isNaN())) {
      return Double.NaN;
    }
    double[] a = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int m = a.length / 2;
    return a.length % 2 == 1 ? a[m] : (a[m - 1] + a[m]) / 2;
  }
}
