package io.relaymesh.bench.load;

import io.relaymesh.proxy.transport.ForwardingTransport;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.vertx.core.buffer.Buffer;

/**
 * Experiment (-Dbench.copyClientMessages=true): the client side's outgoing session messages are
 * copied into one contiguous buffer before the WebSocket gets them. The WebSocket client must
 * mask every byte (RFC 6455); Netty's encoder reads the message 8 bytes at a time, and on the
 * {@code CompositeByteBuf} the session's {@code MessageBuilder} produces (sliced by Vert.x into
 * frames) every read pays an accessibility/reference-count check on the composite. This shows
 * what a contiguous message on the masking side would gain.
 */
final class CopyingTransport extends ForwardingTransport {

  CopyingTransport(TunnelTransport delegate) {
    super(delegate);
  }

  @Override
  public void send(Buffer message) {
    delegate.send(message.copy());
  }
}
