package io.relaymesh.telemetry.log;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * UTC ISO-8601 timestamps with milliseconds ({@code 2026-11-29T23:22:33.123Z}). The text up to the
 * second is computed once per second and shared; the milliseconds are appended by hand.
 */
final class Timestamps {

  private static final DateTimeFormatter TO_SECOND =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.").withZone(ZoneOffset.UTC);

  private record Second(long epochSecond, String text) {}

  private static volatile Second cached = new Second(Long.MIN_VALUE, "");

  private Timestamps() {}

  static void append(StringBuilder sb, long epochMillis) {
    long sec = Math.floorDiv(epochMillis, 1000L);
    int ms = (int) Math.floorMod(epochMillis, 1000L);
    Second c = cached;
    if (c.epochSecond() != sec) {
      c = new Second(sec, TO_SECOND.format(Instant.ofEpochSecond(sec)));
      cached = c;
    }
    sb.append(c.text());
    if (ms < 100) {
      sb.append('0');
    }
    if (ms < 10) {
      sb.append('0');
    }
    sb.append(ms).append('Z');
  }
}
