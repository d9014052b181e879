package io.relaymesh.proxy.transport;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * What a session needs from the connection beneath it: an ordered, reliable carrier of binary
 * messages with write-queue back-pressure. Production uses {@link WebSocketTransport}; tests and
 * benchmarks can use {@link PipeTransport}.
 *
 * <p>Threading: all methods are called, and all handlers are invoked, on the session's context.
 */
public interface TunnelTransport {

  /** Sends one binary message (one or more whole frames). */
  void send(Buffer message);

  /** True when the transport's write queue is full; the session then waits for drain. */
  boolean writeQueueFull();

  /** Called once the write queue is no longer full. */
  void drainHandler(Handler<Void> handler);

  /** Each received binary message. */
  void messageHandler(Handler<Buffer> handler);

  /** Called when a message arrives that the protocol does not allow (e.g. a text message). */
  default void invalidMessageHandler(Handler<String> handler) {}

  /**
   * Called when the transport refused the peer's input below the session's framing (a WebSocket
   * frame or message above the size limit, a corrupt WebSocket frame): the input is lost, so the
   * session ends with a connection error counted under {@link Refused#label()}.
   */
  default void refusedHandler(Handler<Refused> handler) {}

  /**
   * Input the transport refused: {@code label} is the refusal reason of docs/protocol.md §9
   * ({@code message-size}, {@code protocol-error}), {@code why} says what came in.
   */
  record Refused(String label, String why) {
    /** A WebSocket frame or message above the size limit. */
    public static final String MESSAGE_SIZE = io.relaymesh.proxy.session.Refusals.MESSAGE_SIZE;
  }

  /** Called once when the transport is closed, by either side. */
  void closeHandler(Handler<Void> handler);

  /**
   * Closes the transport after the messages already sent.
   *
   * @param status WebSocket close status (1000 normal, 1002 protocol error, 1008 policy)
   */
  void close(int status, String reason);

  /** Short description for logs, e.g. the remote address. */
  default String describe() {
    return toString();
  }
}
