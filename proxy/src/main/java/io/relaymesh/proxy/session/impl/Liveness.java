package io.relaymesh.proxy.session.impl;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.wire.FrameWriter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A session's liveness (docs/protocol.md §7): PING/PONG round trips with last and smoothed RTT
 * (RFC 6298, alpha 1/8), the keepalive PING, dead-peer detection and the idle timeout, driven by
 * one periodic timer. The peer is dead when nothing arrived from it for the dead-peer timeout, or
 * when a PING of ours stays unanswered that long <em>while our outbound side makes no progress</em>
 * (the transport's write queue full with no drain): it sends but does not read. A PING waits
 * behind our queued data, the socket buffers and the peer's own data, so on a slow saturated link
 * its PONG may come late; as long as the queue drains now and then the peer reads, and is alive.
 *
 * <p>Threading: event-loop only (the session's context; the timer is set from it).
 */
final class Liveness {
  static final int MAX_OUTSTANDING_PINGS = 16;

  /** What liveness asks of its session. */
  interface Actions {
    void send(Buffer controlFrame);

    /** The peer is dead: {@code why} says what was not heard ("nothing received for 3s"). */
    void deadPeer(String why);

    /** Called when idle for the idle timeout; the session decides (no streams, not closing). */
    void idle();

    /** True while the transport's write queue is full (nothing more can be sent). */
    boolean outboundFull();
  }

  private final TunnelConfig config;
  private final LongSupplier clock;
  private final Actions actions;
  private final Map<Long, Promise<Long>> pings = new LinkedHashMap<>();
  private long lastRtt = -1;
  private long srtt = -1;
  private long lastReceived;
  private long lastActivity;
  private long lastPingSent;
  /** Since when the transport's write queue has been full without a drain (seen by a tick), or -1. */
  private long stalledSince = -1;
  private long timer = -1;

  Liveness(TunnelConfig config, LongSupplier clock, Actions actions) {
    this.config = config;
    this.clock = clock;
    this.actions = actions;
    this.lastReceived = this.lastActivity = this.lastPingSent = clock.getAsLong();
  }

  void start(Vertx vertx) {
    timer = vertx.setPeriodic(tickMillis(config), id -> tick());
  }

  static long tickMillis(TunnelConfig c) {
    long t = c.deadPeerTimeout().toMillis() / 4;
    if (!c.keepaliveInterval().isZero()) {
      t = Math.min(t, c.keepaliveInterval().toMillis());
    }
    if (!c.idleTimeout().isZero()) {
      t = Math.min(t, c.idleTimeout().toMillis() / 4);
    }
    return Math.max(10, t);
  }

  long lastRttNanos() {
    return lastRtt;
  }

  long smoothedRttNanos() {
    return srtt;
  }

  /** Anything arrived from the peer. */
  void received() {
    lastReceived = clock.getAsLong();
  }

  /** The transport's write queue drained: the peer reads (our outbound side made progress). */
  void drained() {
    stalledSince = -1;
  }

  /** A stream closed (the idle clock restarts). */
  void activity() {
    lastActivity = clock.getAsLong();
  }

  Future<Long> ping() {
    if (pings.size() >= MAX_OUTSTANDING_PINGS) {
      return Future.failedFuture(new IllegalStateException("too many outstanding pings"));
    }
    long opaque = clock.getAsLong();
    while (pings.containsKey(opaque)) {
      opaque++;
    }
    Promise<Long> p = Promise.promise();
    pings.put(opaque, p);
    lastPingSent = clock.getAsLong();
    actions.send(FrameWriter.ping(Buffer.buffer(18), opaque));
    return p.future();
  }

  /** A PONG; unsolicited ones (no PING with that payload outstanding) are ignored. */
  void pong(long opaque, io.relaymesh.proxy.session.SessionMetrics metrics) {
    Promise<Long> p = pings.remove(opaque);
    if (p == null) {
      return;
    }
    long rtt = Math.max(1, clock.getAsLong() - opaque);
    lastRtt = rtt;
    srtt = srtt < 0 ? rtt : srtt + (rtt - srtt) / 8;
    metrics.rtt(rtt);
    p.tryComplete(rtt);
  }

  private void tick() {
    long now = clock.getAsLong();
    long timeout = config.deadPeerTimeout().toNanos();
    if (now - lastReceived > timeout) {
      actions.deadPeer("nothing received for " + java.time.Duration.ofNanos(now - lastReceived));
      return;
    }
    // a peer that keeps sending but never reads never sees our PING: it is as dead to us, and
    // what we queue for it (PONGs, refusals, stream data within its windows) would wait forever.
    // A late PONG alone does not tell: on a slow saturated link the PING waits behind our queue,
    // the socket buffers and the peer's data. So the unanswered PING counts only while our write
    // queue is full and does not drain (no progress at all); any drain restarts that clock.
    if (!actions.outboundFull()) {
      stalledSince = -1;
    } else if (stalledSince < 0) {
      stalledSince = now;
    }
    long oldest = oldestPingSent();
    if (oldest >= 0 && stalledSince >= 0 && now - Math.max(oldest, stalledSince) > timeout) {
      actions.deadPeer("no PONG for " + java.time.Duration.ofNanos(now - oldest)
          + " and the write queue full without a drain for "
          + java.time.Duration.ofNanos(now - stalledSince) + " (the peer does not read)");
      return;
    }
    if (!config.keepaliveInterval().isZero()
        && now - lastPingSent >= config.keepaliveInterval().toNanos()
        && pings.size() < MAX_OUTSTANDING_PINGS) {
      ping();
    }
    if (!config.idleTimeout().isZero() && now - lastActivity >= config.idleTimeout().toNanos()) {
      actions.idle();
    }
  }

  /** When the oldest unanswered PING was sent, or -1. */
  private long oldestPingSent() {
    for (Long opaque : pings.keySet()) {
      return opaque; // the opaque is the send time (made unique by +1 ns); insertion order
    }
    return -1;
  }

  /** Stops the timer and fails outstanding pings. */
  void stop(Vertx vertx, Throwable cause) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    for (Promise<Long> p : pings.values()) {
      p.tryFail(cause);
    }
    pings.clear();
  }
}
