package io.relaymesh.bench.e2e;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the suite reads from wrk's report. */
record Wrk(double requestsPerSec, long requests, long non2xx, long socketErrors, long timeouts,
    double latencyAvgMs) {

  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern TOTAL = Pattern.compile("(\\d+) requests in ");
  private static final Pattern NON2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");
  private static final Pattern ERRORS = Pattern.compile(
      "Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
  private static final Pattern LATENCY = Pattern.compile("Latency\\s+([0-9.]+)(us|ms|s)\\b");

  /** Parses wrk's standard output; throws when it has no Requests/sec line. */
  static Wrk parse(String out) {
    Matcher m = RPS.matcher(out);
    if (!m.find()) {
      throw new IllegalArgumentException("no 'Requests/sec:' in wrk output:\n" + out);
    }
    double rps = Double.parseDouble(m.group(1));
    Matcher t = TOTAL.matcher(out);
    long total = t.find() ? Long.parseLong(t.group(1)) : -1;
    Matcher n = NON2XX.matcher(out);
    long non2xx = n.find() ? Long.parseLong(n.group(1)) : 0;
    long errors = 0;
    long timeouts = 0;
    Matcher e = ERRORS.matcher(out);
    if (e.find()) {
      for (int i = 1; i <= 3; i++) {
        errors += Long.parseLong(e.group(i));
      }
      timeouts = Long.parseLong(e.group(4));
    }
    double lat = Double.NaN;
    Matcher l = LATENCY.matcher(out);
    if (l.find()) {
      double v = Double.parseDouble(l.group(1));
      lat = switch (l.group(2)) {
        case "us" -> v / 1e3;
        case "s" -> v * 1e3;
        default -> v;
      };
    }
    return new Wrk(rps, total, non2xx, errors, timeouts, lat);
  }

  /**
   * Every answer was 2xx/3xx and no connect/read/write error happened. wrk's "timeout" count (a
   * request without an answer within its 2 s timeout) is reported, not a failure by itself.
   */
  boolean clean() {
    return non2xx == 0 && socketErrors == 0 && requests != 0;
  }
}
