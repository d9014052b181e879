package io.relaymesh.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Aligned text tables for listings. */
final class Output {

  /** {@code -o}: {@code table} (alias {@code text}) or {@code json}. */
  enum Format { table, text, json }

  /** Whether listings are JSON: {@code -o} when given, else {@code cli.output}. */
  static boolean json(Format flag, Env env) {
    if (flag != null) {
      return flag == Format.json;
    }
    return env.cliConfig().output() == io.relaymesh.config.CliConfig.OutputFormat.JSON;
  }

  private Output() {}

  static void table(PrintStream out, List<String> header, List<List<String>> rows) {
    int[] w = new int[header.size()];
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    for (List<String> r : all) {
      for (int i = 0; i < w.length; i++) {
        w[i] = Math.max(w[i], cell(r, i).length());
      }
    }
    for (List<String> r : all) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < w.length; i++) {
        String c = cell(r, i);
        b.append(c);
        if (i < w.length - 1) {
          b.append(" ".repeat(w[i] - c.length() + 2));
        }
      }
      out.println(b.toString().stripTrailing());
    }
  }

  /** {@code 2026-01-02T03:04:05.123456Z} -> {@code 2026-01-02T03:04:05Z}. */
  static String time(String iso) {
    if (iso == null) {
      return null;
    }
    int dot = iso.indexOf('.');
    return dot < 0 ? iso : iso.substring(0, dot) + "Z";
  }

  private static String cell(List<String> r, int i) {
    String c = i < r.size() ? r.get(i) : null;
    return c == null ? "-" : c;
  }
}
