package io.relaymesh.proxy.session.impl;

import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.MessageBuilder;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;

/**
 * One stream: the open/half-close/reset life cycle (docs/protocol.md §5), the ReadStream side
 * (inbound queue, demand, end) over a {@link ReceiveWindow}, and the WriteStream side
 * (back-pressure, FIN, drain) over a {@link SendQueue}.
 *
 * <p>Invariant while not terminated: {@code rx.credit() + inBytes + rx.unacked() == rx.window()}.
 *
 * <p>Threading: confined to the session's context. API methods called from another thread hop
 * to it (one task each); {@link SendQueue#inTransit} (an atomic, not a lock) lets
 * {@link #writeQueueFull()}, the one method answered directly on the caller's thread, account
 * for writes still hopping.
 */
final class StreamImpl implements Stream {
  enum State { OPENING, PENDING, OPEN, CLOSED }

  private final SessionImpl session;
  private final int id;
  private final boolean local;
  private final int kind;
  private final String target;
  private final Buffer metadata;
  State state;

  // receive side
  private final ArrayDeque<Buffer> inQ = new ArrayDeque<>();
  private long inBytes;
  final ReceiveWindow rx;
  private long demand = Long.MAX_VALUE;
  private boolean remoteFin;
  private boolean endDelivered;
  private boolean delivering;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;

  // send side
  final SendQueue tx;
  private volatile int writeQueueMax;
  private volatile boolean drainNeeded;
  private Handler<Void> drainHandler;
  private boolean finQueued;
  private boolean finSent;
  boolean queued; // in the Outbound ready queue

  private long bytesIn;
  private long bytesOut;
  long openTimer = -1;
  final Promise<Stream> openPromise = Promise.promise();
  private Promise<Void> endPromise;
  private final Promise<Void> closePromise = Promise.promise();

  StreamImpl(SessionImpl session, int id, boolean local, int kind, String target,
      Buffer metadata, long recvWindow, long sendCredit, int writeQueueMax) {
    this.session = session;
    this.id = id;
    this.local = local;
    this.kind = kind;
    this.target = target;
    this.metadata = metadata;
    this.state = local ? State.OPENING : State.PENDING;
    this.rx = new ReceiveWindow(recvWindow, session.nanoTime());
    this.tx = new SendQueue(sendCredit);
    this.writeQueueMax = writeQueueMax;
    closePromise.future().onFailure(t -> { }); // observed through closeFuture() if wanted
  }

  // ---- identity ----------------------------------------------------------------------------

  @Override public int id() { return id; }
  @Override public boolean isLocal() { return local; }
  @Override public int kind() { return kind; }
  @Override public String target() { return target; }
  @Override public Buffer metadata() { return metadata; }
  @Override public Session session() { return session; }
  @Override public long bytesIn() { return bytesIn; }
  @Override public long bytesOut() { return bytesOut; }
  @Override public Future<Void> closeFuture() { return closePromise.future(); }

  long inBytes() { return inBytes; }
  boolean isTerminated() { return state == State.CLOSED; }

  private boolean onContext() {
    return Vertx.currentContext() == session.context();
  }

  // ---- open life cycle ---------------------------------------------------------------------

  @Override
  public Future<Stream> accept() {
    if (!onContext()) {
      Promise<Stream> p = Promise.promise();
      session.context().runOnContext(v -> accept().onComplete(p));
      return p.future();
    }
    if (state != State.PENDING) {
      return Future.failedFuture(new IllegalStateException(
          "stream " + id + " cannot be accepted in state " + state));
    }
    state = State.OPEN;
    session.cancelTimer(this);
    session.control(FrameWriter.openOk(Buffer.buffer(10), id));
    session.metrics().streamOpened(false, kind);
    deliver();
    session.out().ready(this);
    return Future.succeededFuture(this);
  }

  @Override
  public void reject(ErrorCode code, String reason) {
    if (!onContext()) {
      session.context().runOnContext(v -> reject(code, reason));
      return;
    }
    if (state != State.PENDING) {
      return;
    }
    session.metrics().refused(Refusals.STREAM_REFUSED);
    session.control(FrameWriter.openErr(Buffer.buffer(), id, code.value(), reason));
    terminate(new StreamRefusedException(code, code.value(), reason, false), false);
  }

  /** Peer sent OPEN_OK. */
  void opened() {
    state = State.OPEN;
    session.cancelTimer(this);
    session.metrics().streamOpened(true, kind);
    openPromise.tryComplete(this);
    session.out().ready(this);
  }

  /** Open timer fired. */
  void openTimedOut() {
    session.metrics().refused(Refusals.OPEN_TIMEOUT);
    String reason = "stream " + id + " to " + target + " not "
        + (local ? "accepted by peer" : "accepted locally") + " within the open timeout";
    if (state == State.OPENING) {
      session.control(FrameWriter.reset(Buffer.buffer(), id, ErrorCode.TIMEOUT.value(), reason));
      terminate(new StreamRefusedException(ErrorCode.TIMEOUT, ErrorCode.TIMEOUT.value(), reason,
          false), true);
    } else if (state == State.PENDING) {
      session.control(FrameWriter.openErr(Buffer.buffer(), id, ErrorCode.TIMEOUT.value(),
          reason));
      terminate(new StreamRefusedException(ErrorCode.TIMEOUT, ErrorCode.TIMEOUT.value(), reason,
          false), true);
    }
  }

  @Override
  public void reset(ErrorCode code, String reason) {
    if (!onContext()) {
      session.context().runOnContext(v -> reset(code, reason));
      return;
    }
    if (state == State.CLOSED) {
      return;
    }
    session.control(FrameWriter.reset(Buffer.buffer(), id, code.value(), reason));
    terminate(new StreamResetException(code, reason, false), false);
  }

  /**
   * Ends the stream abnormally: drops queues, fails pending futures, leaves the session.
   *
   * @param notify whether to call the exception handler
   */
  void terminate(StreamResetException cause, boolean notify) {
    if (state == State.CLOSED) {
      return;
    }
    State was = state;
    state = State.CLOSED;
    session.cancelTimer(this);
    inQ.clear();
    session.releaseOutBytes(tx.clear());
    session.removeStream(this, was != State.OPENING && was != State.PENDING);
    openPromise.tryFail(cause);
    if (endPromise != null) {
      endPromise.tryFail(cause);
    }
    closePromise.tryFail(cause);
    if (notify && exceptionHandler != null && was != State.OPENING) {
      call(exceptionHandler, cause);
    }
  }

  private void maybeClosed() {
    if (state != State.CLOSED && finSent && endDelivered) {
      state = State.CLOSED;
      session.removeStream(this, true);
      closePromise.tryComplete();
    }
  }

  // ---- receive side ------------------------------------------------------------------------

  /** DATA from the peer, already checked against the receive credit. */
  void received(Buffer payload) {
    int n = payload.length();
    rx.received(n);
    inBytes += n;
    bytesIn += n;
    if (n > 0) {
      inQ.add(payload);
    }
    deliver();
  }

  boolean remoteFinished() {
    return remoteFin;
  }

  /** FIN from the peer. */
  void remoteFin() {
    remoteFin = true;
    deliver();
  }

  private void deliver() {
    if (delivering || state == State.PENDING || state == State.OPENING) {
      return;
    }
    delivering = true;
    try {
      while (state != State.CLOSED && demand > 0 && handler != null && !inQ.isEmpty()) {
        Buffer b = inQ.poll();
        int n = b.length();
        inBytes -= n;
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        consumed(n);
        call(handler, b);
      }
      if (state != State.CLOSED && remoteFin && inQ.isEmpty() && !endDelivered
          && (handler != null || endHandler != null)) {
        endDelivered = true;
        if (endHandler != null) {
          call(endHandler, null);
        }
        maybeClosed();
      }
    } finally {
      delivering = false;
    }
  }

  /** The application consumed {@code n} bytes: return credit, maybe grow the window. */
  private void consumed(int n) {
    long increment = rx.consumed(n, remoteFin, session.nanoTime(), session.smoothedRttNanos(),
        session.config().maxStreamWindow(), session::tryGrowCommit);
    if (increment > 0) {
      session.control(FrameWriter.windowUpdate(Buffer.buffer(14), id, increment));
    }
  }

  @Override
  public Stream handler(Handler<Buffer> handler) {
    if (!onContext()) {
      session.context().runOnContext(v -> handler(handler));
      return this;
    }
    this.handler = handler;
    if (handler != null) {
      deliver();
    }
    return this;
  }

  @Override
  public Stream endHandler(Handler<Void> endHandler) {
    if (!onContext()) {
      session.context().runOnContext(v -> endHandler(endHandler));
      return this;
    }
    this.endHandler = endHandler;
    deliver();
    return this;
  }

  @Override
  public Stream exceptionHandler(Handler<Throwable> handler) {
    if (!onContext()) {
      session.context().runOnContext(v -> exceptionHandler(handler));
      return this;
    }
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public Stream pause() {
    if (!onContext()) {
      session.context().runOnContext(v -> pause());
      return this;
    }
    demand = 0;
    return this;
  }

  @Override
  public Stream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public Stream fetch(long amount) {
    if (!onContext()) {
      session.context().runOnContext(v -> fetch(amount));
      return this;
    }
    if (amount > 0) {
      demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
      deliver();
    }
    return this;
  }

  // ---- send side ---------------------------------------------------------------------------

  @Override
  public Future<Void> write(Buffer data) {
    if (!onContext()) {
      long n = data.length();
      tx.inTransit.addAndGet(n);
      Promise<Void> p = Promise.promise();
      session.context().runOnContext(v -> {
        tx.inTransit.addAndGet(-n);
        write(data).onComplete(p);
      });
      return p.future();
    }
    if (state == State.CLOSED || finQueued) {
      return Future.failedFuture(new IllegalStateException(
          "stream " + id + " to " + target + " is closed for writing"));
    }
    int n = data.length();
    if (n == 0) {
      return Future.succeededFuture();
    }
    if (tx.queuedBytes() + n > session.config().maxBufferedPerStream()) {
      return overflow(Refusals.STREAM_BUFFER, "stream " + id + " write buffer above "
          + session.config().maxBufferedPerStream() + " bytes (writer ignores writeQueueFull)");
    }
    if (!session.reserveOutBytes(n)) {
      return overflow(Refusals.SESSION_BUFFER, "session write buffers above "
          + session.config().maxBufferedPerSession() + " bytes");
    }
    tx.add(data);
    session.out().ready(this);
    return Future.succeededFuture();
  }

  private Future<Void> overflow(String label, String reason) {
    session.metrics().refused(label);
    StreamResetException e = new StreamResetException(ErrorCode.LIMIT, reason, false);
    session.control(FrameWriter.reset(Buffer.buffer(), id, ErrorCode.LIMIT.value(), reason));
    terminate(e, true);
    return Future.failedFuture(e);
  }

  @Override
  public Future<Void> end() {
    if (!onContext()) {
      Promise<Void> p = Promise.promise();
      session.context().runOnContext(v -> end().onComplete(p));
      return p.future();
    }
    if (endPromise != null) {
      return endPromise.future();
    }
    endPromise = Promise.promise();
    if (state == State.CLOSED) {
      endPromise.fail(new IllegalStateException("stream " + id + " is closed"));
      return endPromise.future();
    }
    finQueued = true;
    session.out().ready(this);
    return endPromise.future();
  }

  @Override
  public Stream setWriteQueueMaxSize(int maxSize) {
    if (maxSize < 1) {
      throw new IllegalArgumentException("write queue size " + maxSize);
    }
    this.writeQueueMax = maxSize;
    return this;
  }

  @Override
  public boolean writeQueueFull() {
    boolean full = tx.pendingBytes() >= writeQueueMax;
    if (full) {
      drainNeeded = true;
    }
    return full;
  }

  @Override
  public Stream drainHandler(Handler<Void> handler) {
    if (!onContext()) {
      // e.g. a pipe from a NetSocket on another event loop: set it on our context, and if the
      // queue drained while this hop was in flight, call it now so the producer never stalls
      session.context().runOnContext(v -> {
        this.drainHandler = handler;
        if (handler != null && state != State.CLOSED && !writeQueueFull()) {
          drainNeeded = false;
          call(handler, null);
        }
      });
      return this;
    }
    this.drainHandler = handler;
    return this;
  }

  /** Whether {@link #emit} has something to do. */
  boolean sendable() {
    return state == State.OPEN
        && (tx.canSend() || (tx.isEmpty() && finQueued && !finSent));
  }

  /** Peer granted credit. Returns false if the credit overflowed 2^31-1. */
  boolean credit(long increment) {
    if (!tx.grant(increment)) {
      return false;
    }
    session.out().ready(this);
    return true;
  }

  /**
   * Puts up to one quantum of DATA (and FIN when drained) into {@code m}, DATA only while
   * {@code m} stays within {@code maxMessage} bytes.
   */
  void emit(MessageBuilder m, int frameLimit, int maxMessage) {
    long sent = tx.emit(id, m, frameLimit, maxMessage);
    if (sent > 0) {
      bytesOut += sent;
      session.releaseOutBytes(sent);
      session.metrics().bytesOut(kind, sent);
    }
    if (tx.isEmpty() && finQueued && !finSent) {
      FrameWriter.fin(m.control(), id);
      m.appended();
      finSent = true;
      endPromise.tryComplete();
      maybeClosed();
    }
    if (drainNeeded && tx.pendingBytes() <= writeQueueMax / 2 && state != State.CLOSED) {
      drainNeeded = false;
      if (drainHandler != null) {
        call(drainHandler, null);
      }
    }
  }

  private <T> void call(Handler<T> h, T value) {
    try {
      h.handle(value);
    } catch (RuntimeException e) {
      session.handlerFailed(this, e);
    }
  }

  @Override
  public String toString() {
    return "stream " + id + (local ? " (local) " : " (remote) ") + state + " to " + target;
  }
}
