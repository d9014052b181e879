package io.relaymesh.proxy.session;

import io.relaymesh.proxy.wire.ErrorCode;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link SessionMetrics} that counts in memory; thread-safe, so one instance may be shared by
 * the sessions of several event loops. Useful for tests, logs and small deployments.
 */
public final class CountingSessionMetrics implements SessionMetrics {
  private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
  private final LongAdder opened = new LongAdder();
  private final LongAdder closed = new LongAdder();
  private final LongAdder in = new LongAdder();
  private final LongAdder out = new LongAdder();
  private final LongAdder rttSamples = new LongAdder();
  private final LongAdder goAwaysSent = new LongAdder();
  private final LongAdder goAwaysReceived = new LongAdder();

  @Override
  public void refused(String reason) {
    refusals.computeIfAbsent(reason, r -> new LongAdder()).increment();
  }

  @Override
  public void streamOpened(boolean local, int kind) {
    opened.increment();
  }

  @Override
  public void streamClosed(boolean local, int kind, long bytesIn, long bytesOut) {
    closed.increment();
  }

  @Override
  public void bytesIn(long bytes) {
    in.add(bytes);
  }

  @Override
  public void bytesOut(long bytes) {
    out.add(bytes);
  }

  @Override
  public void rtt(long nanos) {
    rttSamples.increment();
  }

  @Override
  public void goAway(boolean sent, ErrorCode code) {
    (sent ? goAwaysSent : goAwaysReceived).increment();
  }

  /** Refusals with this reason so far. */
  public long refusals(String reason) {
    LongAdder a = refusals.get(reason);
    return a == null ? 0 : a.sum();
  }

  /** All refusal counts, sorted by reason. */
  public Map<String, Long> refusals() {
    Map<String, Long> m = new TreeMap<>();
    refusals.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  public long streamsOpened() {
    return opened.sum();
  }

  public long streamsClosed() {
    return closed.sum();
  }

  public long bytesIn() {
    return in.sum();
  }

  public long bytesOut() {
    return out.sum();
  }

  public long rttSamples() {
    return rttSamples.sum();
  }

  public long goAwaysSent() {
    return goAwaysSent.sum();
  }

  public long goAwaysReceived() {
    return goAwaysReceived.sum();
  }
}
