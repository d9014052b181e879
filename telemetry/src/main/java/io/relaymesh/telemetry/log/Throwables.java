package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import java.util.ArrayList;
import java.util.List;

/** The compact view of a logged exception both formats share. */
final class Throwables {

  /** How many causes deep a chain is rendered. */
  static final int MAX_CAUSES = 5;

  private Throwables() {}

  /** {@code java.io.IOException: message} (message redacted), or the class alone. */
  static String summary(IThrowableProxy t) {
    String m = t.getMessage();
    return m == null ? t.getClassName() : t.getClassName() + ": " + Redactor.redact(m);
  }

  /**
   * The first {@code max} frames of {@code t} ({@code a.b.C.m(C.java:12)}), then
   * {@code ... N more} for the frames left out (including those shared with the enclosing trace).
   */
  static List<String> frames(IThrowableProxy t, int max) {
    StackTraceElementProxy[] all = t.getStackTraceElementProxyArray();
    int n = all == null ? 0 : all.length;
    int own = Math.max(0, n - Math.max(0, t.getCommonFrames()));
    int shown = Math.min(own, Math.max(0, max));
    List<String> out = new ArrayList<>(shown + 1);
    for (int i = 0; i < shown; i++) {
      out.add(all[i].getStackTraceElement().toString());
    }
    if (n > shown) {
      out.add("... " + (n - shown) + " more");
    }
    return out;
  }

  /**
   * One line: the frames of {@code t} joined by {@code " | "}, then for each cause
   * {@code " | caused by: <summary> | <frames>"}.
   */
  static void appendCompact(StringBuilder sb, IThrowableProxy t, int maxFrames) {
    IThrowableProxy cur = t;
    for (int depth = 0; cur != null && depth <= MAX_CAUSES; depth++) {
      if (depth > 0) {
        sb.append(" | caused by: ").append(summary(cur));
      }
      boolean first = depth == 0;
      for (String f : frames(cur, maxFrames)) {
        if (!first) {
          sb.append(" | ");
        }
        sb.append(f);
        first = false;
      }
      if (cur.isCyclic()) {
        break;
      }
      cur = cur.getCause();
    }
  }
}
