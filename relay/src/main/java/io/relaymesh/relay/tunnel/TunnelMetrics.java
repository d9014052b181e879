package io.relaymesh.relay.tunnel;

import io.micrometer.core.instrument.Counter;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.metrics.RelayMetrics;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@link SessionMetrics} of one tunnel: counts its own bytes and streams (for its close log
 * line) and reports to the relay-wide {@link RelayMetrics}. Streams and their bytes are counted
 * relay-wide on the upstream side only, so that a relayed connection counts once: on agent
 * tunnels (by the stream's kind: {@code ssh}, {@code tcp}, {@code app}) and on peer sessions this
 * relay dialed (kind {@code peer}); client sessions and inbound peer sessions count only their
 * own totals.
 *
 * <p>Threading: called on the session's event loop; readable from anywhere.
 */
public final class TunnelMetrics implements SessionMetrics {

  /** What the tunnel is. */
  public enum Type {
    AGENT("agent"), CLIENT("client"), PEER_IN("relay"), PEER_OUT("relay");

    final String rttPeer;

    Type(String rttPeer) {
      this.rttPeer = rttPeer;
    }
  }

  private final RelayMetrics global;
  private final Type type;
  final LongAdder bytesIn = new LongAdder();
  final LongAdder bytesOut = new LongAdder();
  final LongAdder streams = new LongAdder();
  /** Relay-wide byte counters by kind index and direction; null: not counted relay-wide. */
  private final Counter[] toAgent;
  private final Counter[] fromAgent;

  TunnelMetrics(RelayMetrics global, Type type) {
    this.global = global;
    this.type = type;
    if (type == Type.AGENT) {
      toAgent = new Counter[RelayMetrics.KINDS.length];
      fromAgent = new Counter[RelayMetrics.KINDS.length];
      for (int k = 0; k < RelayMetrics.KINDS.length; k++) {
        toAgent[k] = global.bytes(k, RelayMetrics.TO_AGENT);
        fromAgent[k] = global.bytes(k, RelayMetrics.FROM_AGENT);
      }
    } else if (type == Type.PEER_OUT) {
      toAgent = new Counter[] {global.bytes(RelayMetrics.PEER, RelayMetrics.TO_AGENT)};
      fromAgent = new Counter[] {global.bytes(RelayMetrics.PEER, RelayMetrics.FROM_AGENT)};
    } else {
      toAgent = null;
      fromAgent = null;
    }
  }

  public Type type() {
    return type;
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

  /** The relay-wide kind index of a stream of wire kind {@code kind} here, or -1. */
  private int index(int kind) {
    if (type == Type.AGENT) {
      return RelayMetrics.kindIndex(kind);
    }
    return type == Type.PEER_OUT ? 0 : -1;
  }

  @Override
  public void refused(String reason) {
    global.refused(reason);
  }

  @Override
  public void streamOpened(boolean local, int kind) {
    streams.increment();
    if (type == Type.AGENT) {
      int k = RelayMetrics.kindIndex(kind);
      if (k >= 0) {
        global.stream(k, 1);
      }
    } else if (type == Type.PEER_OUT) {
      global.stream(RelayMetrics.PEER, 1);
    }
  }

  @Override
  public void streamClosed(boolean local, int kind, long in, long out) {
    if (type == Type.AGENT) {
      int k = RelayMetrics.kindIndex(kind);
      if (k >= 0) {
        global.stream(k, -1);
      }
    } else if (type == Type.PEER_OUT) {
      global.stream(RelayMetrics.PEER, -1);
    }
  }

  @Override
  public void bytesIn(long bytes) {
    bytesIn.add(bytes);
  }

  @Override
  public void bytesOut(long bytes) {
    bytesOut.add(bytes);
  }

  @Override
  public void bytesIn(int kind, long bytes) {
    bytesIn.add(bytes);
    if (fromAgent != null) {
      int k = index(kind);
      if (k >= 0) {
        fromAgent[k].increment(bytes);
      }
    }
  }

  @Override
  public void bytesOut(int kind, long bytes) {
    bytesOut.add(bytes);
    if (toAgent != null) {
      int k = index(kind);
      if (k >= 0) {
        toAgent[k].increment(bytes);
      }
    }
  }

  @Override
  public void rtt(long nanos) {
    global.rtt(type.rttPeer, nanos);
  }

  @Override
  public void goAway(boolean sent, ErrorCode code) {
    global.goAway(sent, code);
  }
}
