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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session state machine: receives decoded frames (it is the {@link FrameListener} behind
 * the {@link AbuseGuard}), owns the stream table, the receive-credit budget, SETTINGS, PING/RTT,
 * GOAWAY and the keepalive / dead-peer / idle timer. Sending is delegated to {@link Outbound}.
 *
 * <p>Threading: event-loop only. Everything runs on {@link #context()}; the public entry points
 * that may be called from elsewhere ({@code open}, {@code goAway}, {@code close}, {@code ping})
 * hop to it first. No locks.
 */
public final class SessionImpl implements Session, FrameListener, AbuseGuard.OpenRefuser {
  private static final Logger LOG = LoggerFactory.getLogger(SessionImpl.class);
  private static final int MAX_OUTSTANDING_PINGS = 16;

  private final Context context;
  private final Vertx vertx;
  private final TunnelTransport transport;
  private final Role role;
  private final TunnelConfig config;
  private final SessionMetrics metrics;
  private final FrameReader reader;
  private final FrameListener inbound;
  private final Outbound out;
  private final Map<Integer, StreamImpl> streams = new HashMap<>();
  private final Map<Long, Promise<Long>> pings = new LinkedHashMap<>();
  private final Promise<Void> ready = Promise.promise();
  private final Promise<Void> closed = Promise.promise();

  private int nextLocalId;
  private int highestPeerId;
  private int localCount;
  private int peerCount;
  private long committed;
  private long outBuffered;
  private boolean settingsReceived;
  private boolean settingsAcked;
  private long peerInitialWindow;
  private long peerMaxStreams;
  private long peerMaxOpenSize;
  private boolean goAwaySent;
  private boolean goAwayReceived;
  private boolean isClosed;
  private Handler<Stream> openHandler;
  private long lastRtt = -1;
  private long srtt = -1;
  private long lastReceived;
  private long lastActivity;
  private long lastPingSent;
  private final long tickTimer;

  private final LongSupplier clock;

  public SessionImpl(Context context, TunnelTransport transport, Role role, TunnelConfig config,
      SessionMetrics metrics) {
    this(context, transport, role, config, metrics, System::nanoTime);
  }

  /** With an injectable nanosecond clock (RTT, auto-tuning, rates, timeouts); for tests. */
  public SessionImpl(Context context, TunnelTransport transport, Role role, TunnelConfig config,
      SessionMetrics metrics, LongSupplier clock) {
    this.clock = clock;
    this.context = context;
    this.vertx = context.owner();
    this.transport = transport;
    this.role = role;
    this.config = config;
    this.metrics = metrics == null ? SessionMetrics.NOOP : metrics;
    this.reader = new FrameReader(config.maxFrameSize(), config.maxOpenSize());
    this.inbound = new AbuseGuard(this, this, config, this.metrics, clock);
    this.out = new Outbound(context, transport, this, WireSpec.MIN_MAX_FRAME_SIZE);
    this.nextLocalId = role.firstStreamId();
    this.lastReceived = this.lastActivity = clock.getAsLong();
    ready.future().onFailure(t -> { });
    transport.messageHandler(this::onMessage);
    transport.drainHandler(v -> out.flush());
    transport.closeHandler(v -> transportClosed());
    transport.invalidMessageHandler(what -> connectionError(ErrorCode.PROTOCOL_ERROR,
        "unexpected " + what + " (only binary messages are allowed)", Refusals.PROTOCOL_ERROR));
    control(FrameWriter.settings(Buffer.buffer(40), new Settings(config.initialStreamWindow(),
        config.maxFrameSize(), config.maxConcurrentStreams(), config.maxOpenSize())));
    ping(); // first RTT sample, used by window auto-tuning
    this.tickTimer = vertx.setPeriodic(tickMillis(config), id -> tick());
  }

  private static long tickMillis(TunnelConfig c) {
    long t = c.deadPeerTimeout().toMillis() / 4;
    if (!c.keepaliveInterval().isZero()) {
      t = Math.min(t, c.keepaliveInterval().toMillis());
    }
    if (!c.idleTimeout().isZero()) {
      t = Math.min(t, c.idleTimeout().toMillis() / 4);
    }
    return Math.max(10, t);
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
  @Override public long lastRttNanos() { return lastRtt; }
  @Override public long smoothedRttNanos() { return srtt; }
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
      committed -= s.recvWindow;
      if (s.isLocal()) {
        localCount--;
      } else {
        peerCount--;
      }
      lastActivity = clock.getAsLong();
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
    String refusal = null;
    ErrorCode code = ErrorCode.LIMIT;
    String label = null;
    if (isClosed || goAwaySent || goAwayReceived || nextLocalId < 0) {
      code = ErrorCode.GOING_AWAY;
      label = Refusals.GOING_AWAY;
      refusal = "session " + transport.describe() + " is going away";
    } else if (localCount >= peerMaxStreams) {
      label = Refusals.MAX_CONCURRENT_STREAMS;
      refusal = "peer allows at most " + peerMaxStreams + " concurrent streams";
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
    committed += s.recvWindow;
    control(FrameWriter.open(Buffer.buffer(), id, kind, target, metadata));
    s.openTimer = vertx.setTimer(config.openTimeout().toMillis(), t -> {
      s.openTimer = -1;
      s.openTimedOut();
    });
    return s.openPromise.future();
  }

  private void checkNewPeerId(int streamId) throws ProtocolException {
    if (role.opens(streamId)) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "peer opened stream " + streamId + " with this side's id parity");
    }
    if (streamId <= highestPeerId) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "peer opened stream " + streamId + " after " + highestPeerId + " (ids must increase)");
    }
    highestPeerId = streamId;
  }

  @Override
  public void refuseOpen(int streamId, ErrorCode code, String reason, String label)
      throws ProtocolException {
    requireSettings();
    checkNewPeerId(streamId);
    metrics.refused(label);
    control(FrameWriter.openErr(Buffer.buffer(), streamId, code.value(), reason));
  }

  @Override
  public void onOpen(int streamId, int kind, String target, Buffer metadata)
      throws ProtocolException {
    requireSettings();
    if (goAwaySent) {
      refuseOpen(streamId, ErrorCode.GOING_AWAY, "session is going away", Refusals.GOING_AWAY);
    } else if (peerCount >= config.maxConcurrentStreams()) {
      refuseOpen(streamId, ErrorCode.LIMIT, "at most " + config.maxConcurrentStreams()
          + " concurrent streams", Refusals.MAX_CONCURRENT_STREAMS);
    } else if (committed + config.initialStreamWindow() > config.maxBufferedPerSession()) {
      refuseOpen(streamId, ErrorCode.LIMIT, "session receive budget in use",
          Refusals.SESSION_BUFFER);
    } else if (openHandler == null) {
      refuseOpen(streamId, ErrorCode.UNSUPPORTED, "this side accepts no streams",
          Refusals.STREAM_REFUSED);
    } else {
      checkNewPeerId(streamId);
      StreamImpl s = new StreamImpl(this, streamId, false, kind, target, metadata,
          config.initialStreamWindow(), peerInitialWindow, config.streamWriteQueueSize());
      streams.put(streamId, s);
      peerCount++;
      committed += s.recvWindow;
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
  }

  // ---- frames ------------------------------------------------------------------------------

  private void onMessage(Buffer message) {
    if (isClosed) {
      return;
    }
    lastReceived = clock.getAsLong();
    try {
      reader.read(message, inbound);
    } catch (AbuseGuard.LimitException e) {
      connectionError(e.code(), e.getMessage(), null); // counted by the guard
    } catch (ProtocolException e) {
      connectionError(e.code(), e.getMessage(), label(e.code()));
    } catch (RuntimeException e) {
      LOG.error("session {}: internal error while processing input", transport.describe(), e);
      connectionError(ErrorCode.INTERNAL, "internal error", Refusals.INTERNAL);
    }
  }

  private static String label(ErrorCode code) {
    switch (code) {
      case FRAME_SIZE_ERROR: return Refusals.FRAME_SIZE;
      case FLOW_CONTROL_ERROR: return Refusals.FLOW_CONTROL;
      default: return Refusals.PROTOCOL_ERROR;
    }
  }

  private void requireSettings() throws ProtocolException {
    if (!settingsReceived) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "first frame from the peer must be SETTINGS");
    }
  }

  /** The stream for a frame, or null for a closed one; unknown ids are a connection error. */
  private StreamImpl stream(int streamId, String frame) throws ProtocolException {
    requireSettings();
    StreamImpl s = streams.get(streamId);
    if (s != null) {
      return s;
    }
    boolean known = role.opens(streamId)
        ? nextLocalId < 0 || streamId < nextLocalId : streamId <= highestPeerId;
    if (!known) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          frame + " for stream " + streamId + " that was never opened");
    }
    return null; // closed: ignore
  }

  private void streamError(StreamImpl s, ErrorCode code, String reason, String label) {
    metrics.refused(label);
    control(FrameWriter.reset(Buffer.buffer(), s.id(), code.value(), reason));
    s.terminate(new StreamResetException(code, reason, false), true);
  }

  @Override
  public void onSettings(boolean ack, Settings s) throws ProtocolException {
    if (ack) {
      settingsAcked = true;
      return;
    }
    if (settingsReceived) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR, "second SETTINGS");
    }
    settingsReceived = true;
    peerInitialWindow = Settings.or(s.initialWindow(), WireSpec.DEFAULT_INITIAL_WINDOW);
    out.frameLimit(Settings.or(s.maxFrameSize(), WireSpec.DEFAULT_MAX_FRAME_SIZE));
    peerMaxStreams = Settings.or(s.maxConcurrentStreams(), WireSpec.DEFAULT_MAX_CONCURRENT_STREAMS);
    peerMaxOpenSize = Settings.or(s.maxOpenSize(), WireSpec.DEFAULT_MAX_OPEN_SIZE);
    control(FrameWriter.settingsAck(Buffer.buffer(10)));
    ready.tryComplete();
  }

  /** Whether our SETTINGS were acknowledged by the peer. */
  public boolean settingsAcked() {
    return settingsAcked;
  }

  @Override
  public void onOpenOk(int streamId) throws ProtocolException {
    StreamImpl s = stream(streamId, "OPEN_OK");
    if (s == null) {
      return;
    }
    if (!s.isLocal() || s.state != StreamImpl.State.OPENING) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "OPEN_OK for stream " + streamId + " in state " + s.state);
    }
    s.opened();
  }

  @Override
  public void onOpenErr(int streamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    StreamImpl s = stream(streamId, "OPEN_ERR");
    if (s == null) {
      return;
    }
    if (!s.isLocal() || s.state != StreamImpl.State.OPENING) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "OPEN_ERR for stream " + streamId + " in state " + s.state);
    }
    s.terminate(new StreamRefusedException(code, raw, reason, true), true);
  }

  @Override
  public void onData(int streamId, Buffer payload) throws ProtocolException {
    StreamImpl s = stream(streamId, "DATA");
    metrics.bytesIn(payload.length());
    if (s == null) {
      return;
    }
    if (s.state == StreamImpl.State.OPENING) {
      streamError(s, ErrorCode.PROTOCOL_ERROR, "DATA before OPEN_OK", Refusals.PROTOCOL_ERROR);
    } else if (s.remoteFinished()) {
      streamError(s, ErrorCode.STREAM_CLOSED, "DATA after FIN", Refusals.PROTOCOL_ERROR);
    } else if (payload.length() > s.recvCredit) {
      streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "DATA of " + payload.length()
          + " bytes exceeds the granted credit of " + s.recvCredit, Refusals.FLOW_CONTROL);
    } else {
      s.received(payload);
    }
  }

  @Override
  public void onWindowUpdate(int streamId, long increment) throws ProtocolException {
    StreamImpl s = stream(streamId, "WINDOW_UPDATE");
    if (s != null && !s.credit(increment)) {
      streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "send window above 2^31-1",
          Refusals.FLOW_CONTROL);
    }
  }

  @Override
  public void onFin(int streamId) throws ProtocolException {
    StreamImpl s = stream(streamId, "FIN");
    if (s == null) {
      return;
    }
    if (s.state == StreamImpl.State.OPENING) {
      streamError(s, ErrorCode.PROTOCOL_ERROR, "FIN before OPEN_OK", Refusals.PROTOCOL_ERROR);
    } else if (!s.remoteFinished()) {
      s.remoteFin();
    }
  }

  @Override
  public void onReset(int streamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    StreamImpl s = stream(streamId, "RESET");
    if (s != null) {
      StreamResetException e = s.state == StreamImpl.State.OPENING
          ? new StreamRefusedException(code, raw, reason, true)
          : new StreamResetException(code, raw, reason, true);
      s.terminate(e, true);
    }
  }

  @Override
  public void onPing(long opaque) throws ProtocolException {
    requireSettings();
    control(FrameWriter.pong(Buffer.buffer(18), opaque));
  }

  @Override
  public void onPong(long opaque) throws ProtocolException {
    requireSettings();
    Promise<Long> p = pings.remove(opaque);
    if (p == null) {
      return; // unsolicited
    }
    long rtt = Math.max(1, clock.getAsLong() - opaque);
    lastRtt = rtt;
    srtt = srtt < 0 ? rtt : srtt + (rtt - srtt) / 8;
    metrics.rtt(rtt);
    p.tryComplete(rtt);
  }

  @Override
  public void onGoAway(int lastStreamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    requireSettings();
    goAwayReceived = true;
    metrics.goAway(false, code);
    for (StreamImpl s : new ArrayList<>(streams.values())) {
      if (s.isLocal() && s.id() > lastStreamId) {
        s.terminate(new StreamRefusedException(ErrorCode.REFUSED, ErrorCode.REFUSED.value(),
            "peer is going away (" + code + " " + reason + "); stream not processed", true), true);
      }
    }
  }

  @Override
  public void onUnknownFrame(int type, int flags, int streamId, int length)
      throws ProtocolException {
    requireSettings();
  }

  @Override
  public void onStreamError(int streamId, int frameType, ErrorCode code, String reason)
      throws ProtocolException {
    if (frameType == WireSpec.TYPE_OPEN) {
      refuseOpen(streamId, code, reason,
          code == ErrorCode.LIMIT ? Refusals.OPEN_SIZE : label(code));
      return;
    }
    StreamImpl s = stream(streamId, WireSpec.typeName(frameType));
    if (s != null) {
      streamError(s, code, reason, label(code));
    }
  }

  // ---- ping, keepalive, shutdown -----------------------------------------------------------

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
    control(FrameWriter.ping(Buffer.buffer(18), opaque));
    return p.future();
  }

  private void tick() {
    if (isClosed) {
      return;
    }
    long now = clock.getAsLong();
    if (now - lastReceived > config.deadPeerTimeout().toNanos()) {
      connectionError(ErrorCode.TIMEOUT, "dead peer: nothing received for "
          + config.deadPeerTimeout(), Refusals.DEAD_PEER);
      return;
    }
    if (!config.keepaliveInterval().isZero()
        && now - lastPingSent >= config.keepaliveInterval().toNanos()
        && pings.size() < MAX_OUTSTANDING_PINGS) {
      ping();
    }
    if (!config.idleTimeout().isZero() && !goAwaySent && streams.isEmpty()
        && now - lastActivity >= config.idleTimeout().toNanos()) {
      metrics.refused(Refusals.IDLE);
      goAway(ErrorCode.NO_ERROR, "idle for " + config.idleTimeout());
    }
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
  private void connectionError(ErrorCode code, String reason, String label) {
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
        : code == ErrorCode.LIMIT ? 1008 : code == ErrorCode.INTERNAL ? 1011 : 1002;
    transport.close(status, code.name());
  }

  private void failAll(StreamResetException e) {
    vertx.cancelTimer(tickTimer);
    for (StreamImpl s : new ArrayList<>(streams.values())) {
      s.terminate(e, true);
    }
    for (Promise<Long> p : pings.values()) {
      p.tryFail(e);
    }
    pings.clear();
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
