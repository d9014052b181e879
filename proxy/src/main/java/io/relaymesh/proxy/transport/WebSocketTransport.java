package io.relaymesh.proxy.transport;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.http.WebSocketBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a Vert.x {@link WebSocketBase} (client {@code WebSocket} or {@code ServerWebSocket})
 * negotiated with subprotocol {@code relaymesh.v1} to a {@link TunnelTransport}. Each session
 * message is one binary WebSocket message. Create it on the WebSocket's context.
 */
public final class WebSocketTransport implements TunnelTransport {
  private final WebSocketBase ws;

  private static final Logger LOG = LoggerFactory.getLogger(WebSocketTransport.class);

  private WebSocketTransport(WebSocketBase ws) {
    this.ws = ws;
    ws.exceptionHandler(t -> LOG.debug("tunnel websocket {}: {}", ws.remoteAddress(), t.toString()));
  }

  public static WebSocketTransport of(WebSocketBase ws) {
    return new WebSocketTransport(ws);
  }

  /**
   * Version negotiation, either side: returns the transport if the handshake selected
   * {@link WireSpec#SUBPROTOCOL}; otherwise closes the WebSocket with status 1002 and a reason
   * naming the required version, and returns {@code null}. (Servers list the subprotocol with
   * {@code HttpServerOptions.addWebSocketSubProtocol}, clients offer it with
   * {@code WebSocketConnectOptions.addSubProtocol}.)
   */
  public static WebSocketTransport negotiated(WebSocketBase ws) {
    if (!WireSpec.SUBPROTOCOL.equals(ws.subProtocol())) {
      ws.close((short) 1002, "tunnel subprotocol " + WireSpec.SUBPROTOCOL + " required, got "
          + ws.subProtocol());
      return null;
    }
    return new WebSocketTransport(ws);
  }

  public WebSocketBase webSocket() {
    return ws;
  }

  @Override
  public void send(Buffer message) {
    if (!ws.isClosed()) {
      ws.writeBinaryMessage(message);
    }
  }

  @Override
  public boolean writeQueueFull() {
    return !ws.isClosed() && ws.writeQueueFull(); // closed: send() drops, never wait for drain
  }

  @Override
  public void drainHandler(Handler<Void> handler) {
    ws.drainHandler(handler);
  }

  @Override
  public void messageHandler(Handler<Buffer> handler) {
    ws.binaryMessageHandler(handler);
  }

  @Override
  public void invalidMessageHandler(Handler<String> handler) {
    ws.textMessageHandler(text -> handler.handle("text message"));
  }

  @Override
  public void closeHandler(Handler<Void> handler) {
    ws.closeHandler(handler);
  }

  @Override
  public void close(int status, String reason) {
    if (!ws.isClosed()) {
      ws.close((short) status, reason);
    }
  }

  @Override
  public String describe() {
    return "websocket " + ws.remoteAddress();
  }
}
