package io.relaymesh.cli;

import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.LatencyProbe;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.RelayChooser;
import io.relaymesh.proxy.dial.RelayRtt;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Which relay replica the CLI connects through, for {@code ssh} and {@code port-forward}: among
 * the candidates (the healthy replicas holding the agent, of the pinned region if any), the
 * nearest by {@link LatencyProbe} round trip with {@link RelayChooser} hysteresis against the
 * previous choice for the same workspace agent ({@link RelayChoiceCache}). A fresh enough previous
 * choice that is still a candidate is reused without measuring, so a quick {@code ssh} start costs
 * no measurement; a single candidate is used without measuring (and remembered as the current
 * choice, unmeasured).
 */
final class RelaySelection {

  private final Vertx vertx;
  private final DialOptions dialOptions;
  private final RelayChoiceCache cache;
  private final Duration maxAge;
  private final Clock clock;

  RelaySelection(Vertx vertx, DialOptions dialOptions, RelayChoiceCache cache, Duration maxAge, Clock clock) {
    this.vertx = vertx;
    this.dialOptions = dialOptions;
    this.cache = cache;
    this.maxAge = maxAge;
    this.clock = clock;
  }

  /** The key of a workspace agent in the cache (a pinned region has its own entry). */
  static String key(String controlUrl, String workspace, String agent, String region) {
    return controlUrl + " " + workspace + "." + agent + (region == null ? "" : " region " + region);
  }

  /** The replica to use; {@code candidates} is not empty. */
  RelayCandidate choose(String key, List<RelayCandidate> candidates) {
    RelayChoiceCache.Entry previous = cache.get(key);
    if (candidates.size() == 1) {
      RelayCandidate only = candidates.get(0);
      if (previous == null || !previous.key().equals(only.key()) || !previous.publicUrl().equals(only.publicUrl())) {
        // remembered unmeasured: the current choice once there are several
        cache.put(key, new RelayChoiceCache.Entry(only.replicaId(), only.region(), only.publicUrl(), null, null));
      }
      return only;
    }
    Instant now = clock.instant();
    if (previous != null && previous.freshAt(now, maxAge)) {
      for (RelayCandidate c : candidates) {
        if (c.key().equals(previous.key()) && c.publicUrl().equals(previous.publicUrl())) {
          return c;
        }
      }
    }
    List<RelayRtt> measured = measure(candidates);
    Optional<RelayRtt> chosen = RelayChooser.choose(measured, previous == null ? null : previous.key(), null);
    if (chosen.isEmpty()) {
      cache.put(key, null);
      return candidates.get(0); // none answered: the dial says why
    }
    RelayCandidate c = chosen.get().relay();
    cache.put(key, new RelayChoiceCache.Entry(c.replicaId(), c.region(), c.publicUrl(), chosen.get().millis(), now));
    return c;
  }

  /** Forgets the choice for {@code key} (its relay could not be reached): the next run measures. */
  void forget(String key) {
    cache.put(key, null);
  }

  List<RelayRtt> measure(List<RelayCandidate> candidates) {
    return ClientTunnel.await(new LatencyProbe(vertx, dialOptions).measure(candidates), Duration.ofSeconds(30));
  }
}
