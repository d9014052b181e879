package io.relaymesh.proxy.session.impl;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.limits.AbuseGuard;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session: its state (stream table and ids, peer SETTINGS, receive-credit budget, GOAWAY,
 * closing) and its public API. Received frames are interpreted by {@link FrameHandler} (behind
 * the {@link AbuseGuard}); sending is done by {@link Outbound}; PING/RTT, keepalive, dead-peer
 * and idle detection by {@link Liveness}.
 *
 * <p>Threading: event-loop only. Everything runs on {@link #context()}; the public entry points
 * that may be called from elsewhere ({@code open}, {@code goAway}, {@code close}, {@code ping})
 * hop to it first. No locks.
 */
public final class SessionImpl implements Session {
  private static final Logger LOG = LoggerFactory.getLogger(SessionImpl.class);

  private final Context context;
  private final Vertx vertx;
  private final TunnelTransport transport;
  private final Role role;
  private final TunnelConfig config;
  private final SessionMetrics metrics;
  private final FrameReader reader;
  private final FrameListener inbound;
  final Liveness liveness;
  private final Outbound out;
  final Map<Integer, StreamImpl> streams = new HashMap<>();
  private final Promise<Void> ready = Promise.promise();
  private final Promise<Void> closed = Promise.promise();

  int nextLocalId;
  int highestPeerId;
  private int localCount;
  /** Opens beyond this many waiting for a slot are refused at once. */
  static final int MAX_WAITING_OPENS = 4096;
  private final java.util.ArrayDeque<WaitingOpen> waitingOpens = new java.util.ArrayDeque<>();
  int peerCount;
  long committed;
  private long outBuffered;
  boolean settingsReceived;
  boolean settingsAcked;
  private long peerInitialWindow;
  private long peerMaxStreams;
  private long peerMaxOpenSize;
  boolean goAwaySent;
  boolean goAwayReceived;
  private boolean isClosed;
  Handler<Stream> openHandler;

  private final LongSupplier clock;

  public SessionImpl(Context context, TunnelTransport transport, Role role, TunnelConfig config,
      SessionMetrics metrics) {
    this(context, transport, role, config, metrics, System::nanoTime);
  }

  /** With an injectable nanosecond clock (RTT, auto-tuning, rates, timeouts); for tests. */
  public SessionImpl(Context context, TunnelTransport transport, Role role, TunnelConfig config,
      SessionMetrics metrics, LongSupplier clock) {
    if (Vertx.currentContext() != context) {
      throw new IllegalStateException("a session must be created on its context "
          + "(the WebSocket's event loop), not on " + Thread.currentThread().getName());
    }
    this.clock = clock;
    this.context = context;
    this.vertx = context.owner();
    this.transport = transport;
    this.role = role;
    this.config = config;
    this.metrics = metrics == null ? SessionMetrics.NOOP : metrics;
    this.reader = new FrameReader(config.maxFrameSize(), config.maxOpenSize());
    FrameHandler handler = new FrameHandler(this);
    this.inbound = new AbuseGuard(handler, handler, config, this.metrics, clock);
    this.out = new Outbound(context, transport, this, WireSpec.MIN_MAX_FRAME_SIZE);
    this.nextLocalId = role.firstStreamId();
    this.liveness = new Liveness(config, clock, new Liveness.Actions() {
      @Override
      public void send(Buffer frame) {
        control(frame);
      }

      @Override
      public void deadPeer(String why) {
        connectionError(ErrorCode.TIMEOUT, "dead peer: " + why, Refusals.DEAD_PEER);
      }

      @Override
      public boolean outboundFull() {
        return transport.writeQueueFull();
      }

      @Override
      public void idle() {
        if (!goAwaySent && !isClosed && streams.isEmpty()) {
          metrics().refused(Refusals.IDLE);
          goAway(ErrorCode.NO_ERROR, "idle for " + config.idleTimeout());
        }
      }
    });
    ready.future().onFailure(t -> { });
    transport.messageHandler(this::onMessage);
    transport.drainHandler(v -> {
      liveness.drained();
      out.flush();
    });
    transport.closeHandler(v -> transportClosed());
    transport.refusedHandler(r -> connectionError(
        TunnelTransport.Refused.MESSAGE_SIZE.equals(r.label())
            ? ErrorCode.FRAME_SIZE_ERROR : ErrorCode.PROTOCOL_ERROR, r.why(), r.label()));
    transport.invalidMessageHandler(what -> connectionError(ErrorCode.PROTOCOL_ERROR,
        "unexpected " + what + " (only binary messages are allowed)", Refusals.PROTOCOL_ERROR));
    control(FrameWriter.settings(Buffer.buffer(40), new Settings(config.initialStreamWindow(),
        config.maxFrameSize(), config.maxConcurrentStreams(), config.maxOpenSize())));
    liveness.ping(); // first RTT sample, used by window auto-tuning
    liveness.start(vertx);
  }

  // ---- accessors for streams ---------------------------------------------------------------

  @Override public Context context() { return context; }
  TunnelConfig config() { return config; }
  SessionMetrics metrics() { return metrics; }
  Outbound out() { return out; }
  long nanoTime() { return clock.getAsLong(); }

  @Override public Role role() { return role; }
  @Override public Future<Void> ready() { return ready.future(); }
  @Override public Future<Void> closeFuture() { return closed.future(); }
  @Override public long lastRttNanos() { return liveness.lastRttNanos(); }
  @Override public long smoothedRttNanos() { return liveness.smoothedRttNanos(); }
  @Override public int streamCount() { return streams.size(); }
  @Override public boolean isGoingAway() { return goAwaySent || goAwayReceived; }
  @Override public boolean isClosed() { return isClosed; }
  @Override public long committedReceiveBytes() { return committed; }

  /** Read-only view for tests and diagnostics. */
  public List<Stream> streams() {
    return new ArrayList<>(streams.values());
  }

  private boolean onContext() {
    return Vertx.currentContext() == context;
  }

  void control(Buffer frame) {
    if (!out.control(frame)) {
      connectionError(ErrorCode.LIMIT, "peer does not read: more than "
          + Outbound.MAX_CONTROL_BYTES + " bytes of control frames queued",
          Refusals.CONTROL_QUEUE);
    }
  }

  boolean tryGrowCommit(long delta) {
    if (committed + delta > config.maxBufferedPerSession() / 4 * 3) {
      return false;
    }
    committed += delta;
    return true;
  }

  boolean reserveOutBytes(long n) {
    if (outBuffered + n > config.maxBufferedPerSession()) {
      return false;
    }
    outBuffered += n;
    return true;
  }

  void releaseOutBytes(long n) {
    outBuffered -= n;
  }

  void cancelTimer(StreamImpl s) {
    if (s.openTimer >= 0) {
      vertx.cancelTimer(s.openTimer);
      s.openTimer = -1;
    }
  }

  void removeStream(StreamImpl s, boolean wasOpen) {
    if (streams.remove(s.id()) == s) {
      committed -= s.rx.window();
      if (s.isLocal()) {
        localCount--;
        admitWaiting();
      } else {
        peerCount--;
      }
      liveness.activity();
      if (wasOpen) {
        metrics.streamClosed(s.isLocal(), s.kind(), s.bytesIn(), s.bytesOut());
      }
      if (goAwaySent && streams.isEmpty()) {
        out.closeWhenFlushed(1000, "drained");
      }
    }
  }

  void handlerFailed(StreamImpl s, RuntimeException e) {
    LOG.warn("{} on {}: handler failed, resetting the stream", s, transport.describe(), e);
    s.reset(ErrorCode.INTERNAL, "handler failed: " + e);
  }

  // ---- opening -----------------------------------------------------------------------------

  @Override
  public Session openHandler(Handler<Stream> handler) {
    this.openHandler = handler;
    return this;
  }

  @Override
  public Future<Stream> open(int kind, String target, Buffer metadata) {
    if (!onContext()) {
      Promise<Stream> p = Promise.promise();
      context.runOnContext(v -> open(kind, target, metadata).onComplete(p));
      return p.future();
    }
    return ready.future().compose(v -> doOpen(kind, target,
        metadata == null ? Buffer.buffer() : metadata));
  }

  private Future<Stream> doOpen(int kind, String target, Buffer metadata) {
    return doOpen(kind, target, metadata, config.openTimeout().toMillis());
  }

  private Future<Stream> doOpen(int kind, String target, Buffer metadata, long timeoutMs) {
    String refusal = null;
    ErrorCode code = ErrorCode.LIMIT;
    String label = null;
    if (isClosed || goAwaySent || goAwayReceived || nextLocalId < 0) {
      code = ErrorCode.GOING_AWAY;
      label = Refusals.GOING_AWAY;
      refusal = "session " + transport.describe() + " is going away";
    } else if (localCount >= peerMaxStreams) {
      // (with none of ours open, no slot will ever free up: refuse at once)
      if (localCount > 0 && waitingOpens.size() < MAX_WAITING_OPENS) {
        return waitForSlot(kind, target, metadata);
      }
      label = Refusals.MAX_CONCURRENT_STREAMS;
      refusal = "peer allows at most " + peerMaxStreams + " concurrent streams, and "
          + MAX_WAITING_OPENS + " more opens wait for a slot";
    } else if (FrameWriter.openPayloadSize(target, metadata) > peerMaxOpenSize) {
      label = Refusals.OPEN_SIZE;
      refusal = "OPEN payload above the peer's limit of " + peerMaxOpenSize + " bytes";
    } else if (committed + config.initialStreamWindow() > config.maxBufferedPerSession()) {
      label = Refusals.SESSION_BUFFER;
      refusal = "session receive budget of " + config.maxBufferedPerSession() + " bytes in use";
    }
    if (refusal != null) {
      metrics.refused(label);
      return Future.failedFuture(new StreamRefusedException(code, code.value(), refusal, false));
    }
    int id = nextLocalId;
    nextLocalId += 2; // becomes negative after 2^31-1: no more opens
    StreamImpl s = new StreamImpl(this, id, true, kind, target, metadata,
        config.initialStreamWindow(), peerInitialWindow, config.streamWriteQueueSize());
    streams.put(id, s);
    localCount++;
    committed += s.rx.window();
    control(FrameWriter.open(Buffer.buffer(), id, kind, target, metadata));
    s.openTimer = vertx.setTimer(timeoutMs, t -> {
      s.openTimer = -1;
      s.openTimedOut();
    });
    return s.openPromise.future();
  }

  /**
   * An open above the peer's MAX_CONCURRENT_STREAMS waits for one of this side's streams to end
   * (as HTTP/2 clients queue requests), in order, for at most the open timeout; a burst of new
   * connections is slowed down, not refused.
   */
  private Future<Stream> waitForSlot(int kind, String target, Buffer metadata) {
    WaitingOpen w = new WaitingOpen(kind, target, metadata, Promise.promise(),
        System.nanoTime() + config.openTimeout().toNanos());
    w.timer = vertx.setTimer(config.openTimeout().toMillis(), t -> {
      if (waitingOpens.remove(w)) {
        metrics.refused(Refusals.MAX_CONCURRENT_STREAMS);
        w.promise.tryFail(new StreamRefusedException(ErrorCode.LIMIT, ErrorCode.LIMIT.value(),
            "no stream slot within " + config.openTimeout().toMillis() + " ms: peer allows at most "
                + peerMaxStreams + " concurrent streams", false));
      }
    });
    waitingOpens.add(w);
    return w.promise.future();
  }

  /**
   * Starts waiting opens while the peer's limit leaves room (or refuses them all once the session
   * is closed or going away). An admitted open keeps what is left of its one open timeout.
   */
  void admitWaiting() {
    while (!waitingOpens.isEmpty()
        && (localCount < peerMaxStreams || isClosed || goAwaySent || goAwayReceived)) {
      WaitingOpen w = waitingOpens.poll();
      vertx.cancelTimer(w.timer);
      long left = Math.max(1, (w.deadlineNanos - System.nanoTime()) / 1_000_000);
      doOpen(w.kind, w.target, w.metadata, left).onComplete(w.promise);
    }
  }

  private static final class WaitingOpen {
    final int kind;
    final String target;
    final Buffer metadata;
    final Promise<Stream> promise;
    final long deadlineNanos;
    long timer;

    WaitingOpen(int kind, String target, Buffer metadata, Promise<Stream> promise,
        long deadlineNanos) {
      this.kind = kind;
      this.target = target;
      this.metadata = metadata;
      this.promise = promise;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** A peer OPEN passed every check: create the pending stream and hand it to the app. */
  void addPeerStream(int streamId, int kind, String target, Buffer metadata) {
    StreamImpl s = new StreamImpl(this, streamId, false, kind, target, metadata,
        config.initialStreamWindow(), peerInitialWindow, config.streamWriteQueueSize());
    streams.put(streamId, s);
    peerCount++;
    committed += s.rx.window();
    s.openTimer = vertx.setTimer(config.openTimeout().toMillis(), t -> {
      s.openTimer = -1;
      s.openTimedOut();
    });
    try {
      openHandler.handle(s);
    } catch (RuntimeException e) {
      LOG.warn("open handler failed for {} on {}", s, transport.describe(), e);
      s.reject(ErrorCode.INTERNAL, "open handler failed");
    }
  }

  /** The peer's SETTINGS arrived (exactly once). */
  void peerSettings(Settings s) {
    settingsReceived = true;
    peerInitialWindow = Settings.or(s.initialWindow(), WireSpec.DEFAULT_INITIAL_WINDOW);
    out.frameLimit(Settings.or(s.maxFrameSize(), WireSpec.DEFAULT_MAX_FRAME_SIZE));
    peerMaxStreams = Settings.or(s.maxConcurrentStreams(), WireSpec.DEFAULT_MAX_CONCURRENT_STREAMS);
    peerMaxOpenSize = Settings.or(s.maxOpenSize(), WireSpec.DEFAULT_MAX_OPEN_SIZE);
    admitWaiting();
    control(FrameWriter.settingsAck(Buffer.buffer(10)));
    ready.tryComplete();
  }

  /** Whether our SETTINGS were acknowledged by the peer. */
  public boolean settingsAcked() {
    return settingsAcked;
  }

  // ---- input -------------------------------------------------------------------------------

  private void onMessage(Buffer message) {
    if (isClosed) {
      return;
    }
    liveness.received();
    try {
      reader.read(message, inbound);
    } catch (AbuseGuard.LimitException e) {
      connectionError(e.code(), e.getMessage(), null); // counted by the guard
    } catch (ProtocolException e) {
      connectionError(e.code(), e.getMessage(), FrameHandler.label(e.code()));
    } catch (RuntimeException e) {
      LOG.error("session {}: internal error while processing input", transport.describe(), e);
      connectionError(ErrorCode.INTERNAL, "internal error", Refusals.INTERNAL);
    }
  }

  // ---- ping, shutdown -----------------------------------------------------------

  @Override
  public Future<Long> ping() {
    if (!onContext()) {
      Promise<Long> p = Promise.promise();
      context.runOnContext(v -> ping().onComplete(p));
      return p.future();
    }
    if (isClosed) {
      return Future.failedFuture(new IllegalStateException("session closed"));
    }
    return liveness.ping();
  }

  @Override
  public Future<Void> goAway(ErrorCode code, String reason) {
    if (!onContext()) {
      context.runOnContext(v -> goAway(code, reason));
      return closed.future();
    }
    if (!goAwaySent && !isClosed) {
      goAwaySent = true;
      metrics.goAway(true, code);
      control(FrameWriter.goAway(Buffer.buffer(), highestPeerId, code.value(), reason));
      admitWaiting(); // going away: each waiting open is refused now, not at its timeout
      if (streams.isEmpty()) {
        out.closeWhenFlushed(1000, "drained");
      }
    }
    return closed.future();
  }

  @Override
  public Future<Void> close(ErrorCode code, String reason) {
    if (!onContext()) {
      context.runOnContext(v -> close(code, reason));
      return closed.future();
    }
    connectionError(code, reason, null);
    return closed.future();
  }

  /** Connection-scoped error: GOAWAY with the code, reset every stream, close the transport. */
  void connectionError(ErrorCode code, String reason, String label) {
    if (isClosed) {
      return;
    }
    if (label != null) {
      metrics.refused(label);
      LOG.info("session {}: closing, {} {}", transport.describe(), code, reason);
    }
    if (!goAwaySent) {
      goAwaySent = true;
      metrics.goAway(true, code);
      out.control(FrameWriter.goAway(Buffer.buffer(), highestPeerId, code.value(), reason));
    }
    out.flushControlAndStop();
    isClosed = true;
    failAll(new StreamResetException(code, "session closed: " + reason, false));
    int status = code == ErrorCode.NO_ERROR || code == ErrorCode.GOING_AWAY ? 1000
        : TunnelTransport.Refused.MESSAGE_SIZE.equals(label) ? 1009 // Message Too Big
        : code == ErrorCode.LIMIT ? 1008 : code == ErrorCode.INTERNAL ? 1011 : 1002;
    transport.close(status, code.name());
  }

  private void failAll(StreamResetException e) {
    liveness.stop(vertx, e);
    for (StreamImpl s : new ArrayList<>(streams.values())) {
      s.terminate(e, true);
    }
    admitWaiting(); // closed now: each is refused as going away
    ready.tryFail(e);
  }

  private void transportClosed() {
    if (!isClosed) {
      isClosed = true;
      out.stop();
      failAll(new StreamResetException(ErrorCode.INTERNAL, "tunnel closed", true));
    }
    out.stop();
    if (closed.tryComplete()) {
      metrics.sessionClosed();
    }
  }

  @Override
  public String toString() {
    return "session " + role + " " + transport.describe() + " streams=" + streams.size();
  }
}
