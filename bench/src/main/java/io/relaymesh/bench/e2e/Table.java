package io.relaymesh.bench.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The suite's one table: per workload, the runs of every path (median and spread), the ratio of
 * Relaymesh to the peer measured in the same run, the target and whether it is met.
 */
final class Table {

  static final String RELAYMESH = "relaymesh";
  static final List<String> PATHS = List.of(RELAYMESH, "openssh", "openssh-nodelay", "nginx", "direct");

  enum Kind {
    /** relaymesh / reference >= bound */
    RATIO_MIN,
    /** relaymesh / reference <= bound */
    RATIO_MAX,
    /** relaymesh >= bound */
    MIN,
    /** relaymesh <= bound */
    MAX
  }

  /**
   * One condition of a target; {@code reference} null: the row's peer median (for the ratio
   * kinds), else that value (e.g. the same path's unloaded p99).
   */
  record Condition(Kind kind, double bound, Double reference) {
    static Condition ratioMin(double k) {
      return new Condition(Kind.RATIO_MIN, k, null);
    }

    static Condition ratioMax(double k) {
      return new Condition(Kind.RATIO_MAX, k, null);
    }

    static Condition min(double v) {
      return new Condition(Kind.MIN, v, null);
    }

    static Condition max(double v) {
      return new Condition(Kind.MAX, v, null);
    }

    static Condition ratioMaxOf(double k, double reference) {
      return new Condition(Kind.RATIO_MAX, k, reference);
    }

    /** Met, not met, or null when a value is missing. */
    Boolean met(double value, double peer) {
      double ref = reference != null ? reference : peer;
      double v = switch (kind) {
        case RATIO_MIN, RATIO_MAX -> value / ref;
        case MIN, MAX -> value;
      };
      if (Double.isNaN(v) || Double.isInfinite(v)) {
        return null;
      }
      return switch (kind) {
        case RATIO_MIN, MIN -> v >= bound;
        case RATIO_MAX, MAX -> v <= bound;
      };
    }
  }

  static final class Row {
    final String workload;
    final String peer;
    String target;
    final List<Condition> conditions = new ArrayList<>();
    final Map<String, List<Double>> runs = new LinkedHashMap<>();
    final List<String> failures = new ArrayList<>();
    /** overrides the median cell of a path, e.g. a count with its own wording */
    final Map<String, String> notes = new LinkedHashMap<>();

    Row(String workload, String peer, String target, Condition... conditions) {
      this.workload = workload;
      this.peer = peer;
      this.target = target;
      this.conditions.addAll(List.of(conditions));
    }

    Row add(String path, double value) {
      runs.computeIfAbsent(path, p -> new ArrayList<>()).add(value);
      return this;
    }

    /** A run that failed: the path scores nothing for this row (NaN), the reason is kept. */
    Row fail(String path, String why) {
      runs.computeIfAbsent(path, p -> new ArrayList<>()).add(Double.NaN);
      failures.add(path + ": " + why);
      return this;
    }

    double median(String path) {
      List<Double> r = runs.get(path);
      return r == null ? Double.NaN : Stats.median(r);
    }

    /** Relaymesh's median over the peer's; NaN without a peer. */
    double ratio() {
      return peer == null ? Double.NaN : median(RELAYMESH) / median(peer);
    }

    /** All conditions met (TRUE), one not met (FALSE), or null: not measured. */
    Boolean met() {
      if (conditions.isEmpty()) {
        return null;
      }
      double v = median(RELAYMESH);
      double p = peer == null ? Double.NaN : median(peer);
      boolean all = true;
      for (Condition c : conditions) {
        Boolean m = c.met(v, p);
        if (m == null) {
          return null;
        }
        all &= m;
      }
      return all;
    }
  }

  final List<Row> rows = new ArrayList<>();

  Row row(Row r) {
    rows.add(r);
    return r;
  }

  static String num(double v) {
    if (Double.isNaN(v)) {
      return "FAILED";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String cell(Row r, String path) {
    List<Double> runs = r.runs.get(path);
    if (runs == null || runs.isEmpty()) {
      return "-";
    }
    String note = r.notes.get(path);
    String med = num(Stats.median(runs));
    if (runs.size() > 1 && runs.stream().noneMatch(v -> v.isNaN())) {
      double min = runs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
      double max = runs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      med += " (" + num(min) + ".." + num(max) + ")";
    }
    return note == null ? med : med + " " + note;
  }

  static String verdict(Boolean met) {
    return met == null ? "?" : met ? "yes" : "NO";
  }

  String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("| workload |");
    PATHS.forEach(p -> b.append(' ').append(p).append(" |"));
    b.append(" ratio vs peer | target | met? |\n|---|");
    PATHS.forEach(p -> b.append("---|"));
    b.append("---|---|---|\n");
    for (Row r : rows) {
      b.append("| ").append(r.workload).append(" |");
      for (String p : PATHS) {
        b.append(' ').append(cell(r, p)).append(" |");
      }
      double ratio = r.ratio();
      b.append(' ').append(r.peer == null ? "-" : (Double.isNaN(ratio) || Double.isInfinite(ratio) ? "?" : String.format(Locale.ROOT, "%.2fx %s", ratio, r.peer)))
          .append(" | ").append(r.target == null ? "-" : r.target)
          .append(" | ").append(r.target == null ? "-" : verdict(r.met())).append(" |\n");
    }
    List<String> failures = new ArrayList<>();
    for (Row r : rows) {
      r.failures.forEach(f -> failures.add(r.workload + ": " + f));
    }
    if (!failures.isEmpty()) {
      b.append("\nFailed runs (scored as FAILED):\n");
      failures.forEach(f -> b.append("- ").append(f).append('\n'));
    }
    return b.toString();
  }
}
