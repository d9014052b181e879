package io.relaymesh.proxy.transport;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * A {@link TunnelTransport} that passes every call to another one; subclasses override what they
 * watch or change (as OkHttp's {@code ForwardingSource}). For tests and benchmarks that observe
 * or alter a session's messages.
 */
public abstract class ForwardingTransport implements TunnelTransport {
  protected final TunnelTransport delegate;

  protected ForwardingTransport(TunnelTransport delegate) {
    this.delegate = delegate;
  }

  @Override
  public void send(Buffer message) {
    delegate.send(message);
  }

  @Override
  public boolean writeQueueFull() {
    return delegate.writeQueueFull();
  }

  @Override
  public void drainHandler(Handler<Void> handler) {
    delegate.drainHandler(handler);
  }

  @Override
  public void messageHandler(Handler<Buffer> handler) {
    delegate.messageHandler(handler);
  }

  @Override
  public void invalidMessageHandler(Handler<String> handler) {
    delegate.invalidMessageHandler(handler);
  }

  @Override
  public void refusedHandler(Handler<Refused> handler) {
    delegate.refusedHandler(handler);
  }

  @Override
  public void closeHandler(Handler<Void> handler) {
    delegate.closeHandler(handler);
  }

  @Override
  public void close(int status, String reason) {
    delegate.close(status, reason);
  }

  @Override
  public String describe() {
    return delegate.describe();
  }
}
