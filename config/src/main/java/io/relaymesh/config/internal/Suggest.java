package io.relaymesh.config.internal;

import java.util.Collection;
import java.util.Locale;

/** "Did you mean" suggestions by edit distance. Not public API. */
public final class Suggest {

  private Suggest() {}

  /**
   * The candidate closest to {@code wrong}, or {@code null} when none is close enough. A
   * candidate equal after ignoring case, dashes and underscores ({@code appsHost} for
   * {@code apps-host}) always matches.
   */
  public static String closest(String wrong, Collection<String> candidates) {
    String w = normalize(wrong);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : candidates) {
      String c = normalize(candidate);
      if (c.equals(w)) {
        return candidate;
      }
      int d = distance(w, c);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    int len = w.length();
    int limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    return bestDistance <= limit ? best : null;
  }

  private static String normalize(String s) {
    return s.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
  }

  /** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}
