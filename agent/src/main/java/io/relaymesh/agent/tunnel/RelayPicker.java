package io.relaymesh.agent.tunnel;

import io.relaymesh.proxy.dial.LatencyProbe;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.RelayChooser;
import io.relaymesh.proxy.dial.RelayRtt;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Chooses the relay replicas an agent holds tunnels to: all of them when there are no more than
 * {@code count} (nothing to choose, nothing measured), else the {@code count} nearest by
 * {@link LatencyProbe} round trip, moving away from the replicas held now only with
 * {@link RelayChooser}'s hysteresis. When no replica can be measured, the first {@code count} are
 * returned anyway, so that the dial attempts report why they fail.
 */
public final class RelayPicker {

  /** The choice, and the measurements behind it (empty when nothing was measured). */
  public record Picked(List<RelayCandidate> targets, List<RelayRtt> measured) {
  }

  private final LatencyProbe probe;
  private final int count;

  /** @param probe null: never measure (the first {@code count} candidates) */
  public RelayPicker(LatencyProbe probe, int count) {
    this.probe = probe;
    this.count = count;
  }

  public int count() {
    return count;
  }

  public Future<Picked> pick(List<RelayCandidate> candidates, Collection<String> currentKeys) {
    if (candidates.size() <= count || probe == null) {
      return Future.succeededFuture(new Picked(List.copyOf(candidates.subList(0, Math.min(count, candidates.size()))),
          List.of()));
    }
    return probe.measure(candidates).map(measured -> {
      List<RelayCandidate> targets = new ArrayList<>();
      RelayChooser.chooseSeveral(measured, count, currentKeys, null).forEach(r -> targets.add(r.relay()));
      if (targets.isEmpty()) {
        targets.addAll(candidates.subList(0, count));
      }
      return new Picked(targets, measured);
    });
  }
}
