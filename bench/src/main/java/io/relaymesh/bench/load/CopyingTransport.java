package io.relaymesh.bench.load;

import io.relaymesh.proxy.transport.TunnelTransport;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * Experiment (-Dbench.copyClientMessages=true): the client side's outgoing session messages are
 * copied into one contiguous buffer before the WebSocket gets them. The WebSocket client must
 * mask every byte (RFC 6455); Netty's encoder reads the message 8 bytes at a time, and on the
 * {@code CompositeByteBuf} the session's {@code MessageBuilder} produces (sliced by Vert.x into
 * frames) every read pays an accessibility/reference-count check on the composite. This shows
 * what a contiguous message on the masking side would gain.
 */
final class CopyingTransport implements TunnelTransport {
  private final TunnelTransport delegate;

  CopyingTransport(TunnelTransport delegate) {
    this.delegate = delegate;
  }

  @Override
  public void send(Buffer message) {
    delegate.send(message.copy());
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
