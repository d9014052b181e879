package io.relaymesh.config;

import io.relaymesh.config.internal.Schema;
import io.relaymesh.config.internal.Values;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Printing configuration without leaking secrets: components annotated {@link Secret} show
 * {@link Secret#MASK} (or {@code null} when unset), in nested records too. Config records
 * override {@code toString()} with {@link #toString(Record)}.
 */
public final class ConfigStrings {

  private ConfigStrings() {}

  /**
   * Like a record's own {@code toString()}, {@code RelayConfig[region=eu, token=******, ...]},
   * with secrets masked recursively.
   */
  public static String toString(Record r) {
    if (r == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(r.getClass().getSimpleName()).append('[');
    RecordComponent[] components = r.getClass().getRecordComponents();
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      Object v = Schema.read(c, r);
      if (i > 0) {
        out.append(", ");
      }
      out.append(c.getName()).append('=');
      if (v != null && c.isAnnotationPresent(Secret.class)) {
        out.append(Secret.MASK);
      } else if (v instanceof Record nested) {
        out.append(toString(nested));
      } else {
        out.append(v);
      }
    }
    return out.append(']').toString();
  }

  /**
   * The effective configuration, one leaf per line: {@code key = value  source}; secrets
   * masked, unset values shown as {@code <unset>}, values written as a user would
   * ({@code 30s}, {@code 64KiB}).
   *
   * @param sources where each key's value came from (missing keys show {@code default})
   */
  public static String describe(String section, Record config, Map<String, Source> sources) {
    List<String[]> rows = new ArrayList<>();
    collect(section, config, sources, rows);
    int keyWidth = 0;
    int valueWidth = 0;
    for (String[] row : rows) {
      keyWidth = Math.max(keyWidth, row[0].length());
      valueWidth = Math.max(valueWidth, row[1].length());
    }
    StringBuilder out = new StringBuilder();
    for (String[] row : rows) {
      out.append(pad(row[0], keyWidth)).append(" = ").append(pad(row[1], valueWidth))
          .append("  ").append(row[2]).append('\n');
    }
    return out.toString();
  }

  private static void collect(String path, Record r, Map<String, Source> sources,
      List<String[]> rows) {
    for (RecordComponent c : r.getClass().getRecordComponents()) {
      String key = path + "." + ConfigNames.kebab(c.getName());
      Object v = Schema.read(c, r);
      if (c.getType().isRecord()) {
        if (v != null) {
          collect(key, (Record) v, sources, rows);
        } else {
          rows.add(new String[] {key, "<unset>", sources.getOrDefault(key, Source.DEFAULT).where()});
        }
        continue;
      }
      String shown = v == null ? "<unset>"
          : c.isAnnotationPresent(Secret.class) ? Secret.MASK : Values.format(c, v);
      rows.add(new String[] {key, shown, sources.getOrDefault(key, Source.DEFAULT).where()});
    }
  }

  private static String pad(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
