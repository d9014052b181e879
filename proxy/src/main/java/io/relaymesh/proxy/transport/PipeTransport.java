package io.relaymesh.proxy.transport;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * An in-memory pair of connected transports on one Vert.x context, for tests and benchmarks.
 * Messages are delivered asynchronously (next context task), in order; a side's write queue is
 * "full" while more than {@code maxInFlight} bytes it sent are not yet handled by the other side.
 *
 * <p>Threading: event-loop only (the given context).
 */
public final class PipeTransport implements TunnelTransport {
  private final Context context;
  private final int maxInFlight;
  private PipeTransport peer;
  private long inFlight;
  private Handler<Buffer> messageHandler;
  private Handler<Void> drainHandler;
  private Handler<Void> closeHandler;
  private boolean closed;
  private boolean needDrain;
  private final String name;

  private PipeTransport(Context context, int maxInFlight, String name) {
    this.context = context;
    this.maxInFlight = maxInFlight;
    this.name = name;
  }

  /** Two connected ends: {@code [0]} is the "client" end, {@code [1]} the "server" end. */
  public static PipeTransport[] pair(Context context, int maxInFlight) {
    PipeTransport a = new PipeTransport(context, maxInFlight, "pipe-client");
    PipeTransport b = new PipeTransport(context, maxInFlight, "pipe-server");
    a.peer = b;
    b.peer = a;
    return new PipeTransport[] {a, b};
  }

  @Override
  public void send(Buffer message) {
    if (closed) {
      return;
    }
    int len = message.length();
    inFlight += len;
    context.runOnContext(v -> {
      inFlight -= len;
      if (!peer.closed && peer.messageHandler != null) {
        peer.messageHandler.handle(message);
      }
      if (needDrain && inFlight <= maxInFlight / 2) {
        needDrain = false;
        if (drainHandler != null) {
          drainHandler.handle(null);
        }
      }
    });
  }

  @Override
  public boolean writeQueueFull() {
    if (inFlight > maxInFlight) {
      needDrain = true;
      return true;
    }
    return false;
  }

  @Override
  public void drainHandler(Handler<Void> handler) {
    this.drainHandler = handler;
  }

  @Override
  public void messageHandler(Handler<Buffer> handler) {
    this.messageHandler = handler;
  }

  @Override
  public void closeHandler(Handler<Void> handler) {
    this.closeHandler = handler;
  }

  /** True once either side closed. */
  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close(int status, String reason) {
    // like a WebSocket close: the already-sent messages are delivered first
    context.runOnContext(v -> {
      closeLocal();
      peer.closeLocal();
    });
  }

  private void closeLocal() {
    if (!closed) {
      closed = true;
      if (closeHandler != null) {
        closeHandler.handle(null);
      }
    }
  }

  @Override
  public String describe() {
    return name;
  }
}
