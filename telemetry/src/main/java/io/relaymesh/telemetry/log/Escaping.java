package io.relaymesh.telemetry.log;

/** Logfmt and JSON text escaping (hand-written: it runs for every key and value of every line). */
final class Escaping {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Escaping() {}

  /** A logfmt key: anything but ASCII letters, digits and {@code _ . - /} becomes {@code _}. */
  static void logfmtKey(StringBuilder sb, String key) {
    if (key == null || key.isEmpty()) {
      sb.append('_');
      return;
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '.' || c == '-' || c == '/';
      sb.append(ok ? c : '_');
    }
  }

  /**
   * A logfmt value: as it is when it holds no space, quote, {@code =}, control character or
   * Unicode space; otherwise in double quotes with {@code \" \\ \n \r \t} and {@code \}{@code uXXXX}
   * escapes. The empty string is {@code ""}.
   */
  static void logfmtValue(StringBuilder sb, String v) {
    if (v == null) {
      sb.append("null");
      return;
    }
    int n = v.length();
    boolean quote = n == 0;
    for (int i = 0; i < n && !quote; i++) {
      char c = v.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(v.charAt(i + 1))) {
        i++; // a pair: one code point outside the BMP, written as it is
        continue;
      }
      quote = c <= ' ' || c == '"' || c == '=' || (c >= 0x7f && c <= 0x9f)
          || (c > 0x9f && (Character.isSpaceChar(c) || Character.isSurrogate(c) || c == 0xfeff
              || c == 0x2028 || c == 0x2029));
    }
    if (!quote) {
      sb.append(v);
      return;
    }
    sb.append('"');
    escapeInQuotes(sb, v);
    sb.append('"');
  }

  /** A JSON string literal, quotes included. */
  static void jsonString(StringBuilder sb, String v) {
    sb.append('"');
    escapeInQuotes(sb, v);
    sb.append('"');
  }

  /**
   * The shared escaping of a quoted logfmt value and a JSON string: {@code " \ } and control
   * characters (C0, DEL, C1), U+2028/U+2029; a lone surrogate becomes U+FFFD.
   */
  private static void escapeInQuotes(StringBuilder sb, String v) {
    int n = v.length();
    int start = 0;
    for (int i = 0; i < n; i++) {
      char c = v.charAt(i);
      if (c >= ' ' && c != '"' && c != '\\' && c < 0x7f) {
        continue;
      }
      if (c > 0x9f && c != 0x2028 && c != 0x2029 && !Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(v.charAt(i + 1))) {
        i++;
        continue;
      }
      sb.append(v, start, i);
      start = i + 1;
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          char e = Character.isSurrogate(c) ? '\ufffd' : c;
          sb.append("\\u").append(HEX[(e >> 12) & 0xf]).append(HEX[(e >> 8) & 0xf])
              .append(HEX[(e >> 4) & 0xf]).append(HEX[e & 0xf]);
        }
      }
    }
    sb.append(v, start, n);
  }
}
