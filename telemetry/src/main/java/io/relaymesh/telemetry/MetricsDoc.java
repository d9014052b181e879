package io.relaymesh.telemetry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric catalogue in {@code docs/metrics.md}: tables whose rows start with a metric name in
 * backticks, under {@code ## Section} headings. Tests scrape a running component and call
 * {@link #undocumented(String)}: a metric that is exposed but not in the catalogue fails the build.
 *
 * <p>Names are written as PromQL sees them: counters with {@code _total}; histograms and summaries
 * by their base name (their {@code _bucket}, {@code _count}, {@code _sum} series and the
 * {@code _max} gauge Micrometer adds are covered by it).
 */
public final class MetricsDoc {

  /** One documented metric. */
  public record Entry(String name, String type, String section) {}

  private static final Pattern HEADING = Pattern.compile("^##\\s+(.+?)\\s*$");
  private static final Pattern ROW = Pattern.compile("^\\|\\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\\s*\\|\\s*([a-z]+)\\s*\\|");
  private static final Pattern TYPE_LINE = Pattern.compile("^# TYPE (\\S+) (\\S+)$");

  private final Map<String, Entry> entries;

  private MetricsDoc(Map<String, Entry> entries) {
    this.entries = entries;
  }

  /** Reads {@code docs/metrics.md}, looked up from the working directory upwards. */
  public static MetricsDoc load() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      Path f = d.resolve("docs").resolve("metrics.md");
      if (Files.isRegularFile(f)) {
        return parse(f);
      }
    }
    throw new IllegalStateException("docs/metrics.md not found in " + dir + " or above");
  }

  /** Reads one catalogue file. */
  public static MetricsDoc parse(Path file) {
    try {
      return parse(Files.readAllLines(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  static MetricsDoc parse(List<String> lines) {
    Map<String, Entry> entries = new LinkedHashMap<>();
    String section = "";
    for (String line : lines) {
      Matcher h = HEADING.matcher(line);
      if (h.matches()) {
        section = h.group(1);
        continue;
      }
      Matcher r = ROW.matcher(line);
      if (r.find()) {
        Entry e = new Entry(r.group(1), r.group(2), section);
        if (entries.putIfAbsent(e.name(), e) != null) {
          throw new IllegalStateException("docs/metrics.md lists " + e.name() + " twice");
        }
      }
    }
    return new MetricsDoc(Collections.unmodifiableMap(entries));
  }

  /** Every documented metric by name. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** The metric families of a Prometheus text exposition, as PromQL names them. */
  public static Set<String> exposed(String scrape) {
    Set<String> names = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      Matcher m = TYPE_LINE.matcher(line);
      if (m.matches()) {
        String family = m.group(1);
        names.add("counter".equals(m.group(2)) && !family.endsWith("_total")
            ? family + "_total" : family);
      }
    }
    return names;
  }

  /** The exposed metric names that the catalogue does not list, sorted. */
  public List<String> undocumented(String scrape) {
    List<String> missing = new ArrayList<>();
    for (String name : exposed(scrape)) {
      if (!documents(name)) {
        missing.add(name);
      }
    }
    return missing;
  }

  private boolean documents(String name) {
    if (entries.containsKey(name)) {
      return true;
    }
    if (name.endsWith("_max")) {
      Entry base = entries.get(name.substring(0, name.length() - 4));
      return base != null && ("histogram".equals(base.type()) || "summary".equals(base.type()));
    }
    return false;
  }
}
