package io.relaymesh.relay.tunnel;

import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.wire.ErrorCode;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@link SessionMetrics} of one tunnel: counts its own bytes and streams (for its close log
 * line) and forwards everything to the relay-wide metrics.
 */
public final class TunnelMetrics implements SessionMetrics {
  private final SessionMetrics global;
  final LongAdder bytesIn = new LongAdder();
  final LongAdder bytesOut = new LongAdder();
  final LongAdder streams = new LongAdder();

  TunnelMetrics(SessionMetrics global) {
    this.global = global;
  }

  /** Streams opened on this tunnel so far. */
  public long streams() {
    return streams.sum();
  }

  /** Bytes received on this tunnel so far. */
  public long bytesReceived() {
    return bytesIn.sum();
  }

  /** Bytes sent on this tunnel so far. */
  public long bytesSent() {
    return bytesOut.sum();
  }

  @Override
  public void refused(String reason) {
    global.refused(reason);
  }

  @Override
  public void streamOpened(boolean local, int kind) {
    streams.increment();
    global.streamOpened(local, kind);
  }

  @Override
  public void streamClosed(boolean local, int kind, long in, long out) {
    global.streamClosed(local, kind, in, out);
  }

  @Override
  public void bytesIn(long bytes) {
    bytesIn.add(bytes);
    global.bytesIn(bytes);
  }

  @Override
  public void bytesOut(long bytes) {
    bytesOut.add(bytes);
    global.bytesOut(bytes);
  }

  @Override
  public void rtt(long nanos) {
    global.rtt(nanos);
  }

  @Override
  public void goAway(boolean sent, ErrorCode code) {
    global.goAway(sent, code);
  }

  @Override
  public void sessionClosed() {
    global.sessionClosed();
  }
}
