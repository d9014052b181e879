package io.relaymesh.proxy.dial;

import java.util.Objects;

/**
 * The round-trip time measured to one relay replica: the smallest of a few
 * {@code GET /latency-check} exchanges over a warm connection ({@link LatencyProbe}), or why the
 * relay could not be measured (then it is unreachable and never chosen).
 *
 * @param relay the replica
 * @param millis smallest round trip in milliseconds; null when unreachable
 * @param error why it is unreachable (who/where/why); null when reachable
 */
public record RelayRtt(RelayCandidate relay, Double millis, String error) {

  public RelayRtt {
    Objects.requireNonNull(relay, "relay");
    if ((millis == null) == (error == null)) {
      throw new IllegalArgumentException("exactly one of millis and error");
    }
  }

  public static RelayRtt of(RelayCandidate relay, double millis) {
    return new RelayRtt(relay, millis, null);
  }

  public static RelayRtt unreachable(RelayCandidate relay, String error) {
    return new RelayRtt(relay, null, error);
  }

  public boolean reachable() {
    return millis != null;
  }

  /** {@code 12.3 ms} or {@code unreachable}. */
  public String describe() {
    return reachable() ? String.format(java.util.Locale.ROOT, "%.1f ms", millis) : "unreachable";
  }
}
