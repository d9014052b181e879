package io.relaymesh.telemetry.log;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Short logger names: {@code io.relaymesh.} is dropped ({@code relay.tunnel.TunnelRegistry});
 * other names longer than {@value #MAX} characters get their leading package segments cut to one
 * letter ({@code i.n.c.DefaultChannelPipeline}), like logback's {@code %logger{40}}. The class
 * name is always kept whole. Results are cached (logger names are a small, fixed set).
 */
final class LoggerNames {

  static final int MAX = 40;
  private static final String OURS = "io.relaymesh.";
  private static final int CACHE_LIMIT = 10_000;
  private static final ConcurrentHashMap<String, String> CACHE = new ConcurrentHashMap<>();

  private LoggerNames() {}

  static String shorten(String name) {
    if (name == null) {
      return "";
    }
    String s = CACHE.get(name);
    if (s == null) {
      s = compute(name);
      if (CACHE.size() < CACHE_LIMIT) {
        CACHE.put(name, s);
      }
    }
    return s;
  }

  static String compute(String name) {
    if (name.startsWith(OURS) && name.length() > OURS.length()) {
      return name.substring(OURS.length());
    }
    if (name.length() <= MAX) {
      return name;
    }
    String[] parts = name.split("\\.");
    int len = name.length();
    StringBuilder sb = new StringBuilder(MAX);
    for (int i = 0; i < parts.length; i++) {
      String p = parts[i];
      boolean last = i == parts.length - 1;
      if (!last && len > MAX && p.length() > 1) {
        len -= p.length() - 1;
        p = p.substring(0, 1);
      }
      sb.append(p);
      if (!last) {
        sb.append('.');
      }
    }
    return sb.toString();
  }
}
