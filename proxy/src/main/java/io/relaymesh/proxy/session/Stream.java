package io.relaymesh.proxy.session;

import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * One bidirectional stream of a tunnel {@link Session}. As a {@link ReadStream} it delivers the
 * peer's bytes (end = the peer's FIN); as a {@link WriteStream} it sends bytes under the peer's
 * flow-control credit ({@link #end()} = our FIN, half-close). {@code pipeTo} between a
 * {@code NetSocket} and a stream therefore gives end-to-end back-pressure.
 *
 * <p>Threading: a stream lives on its session's context; handlers are invoked there. Every
 * method may also be called from another thread (e.g. by a {@code pipeTo} from a
 * {@code NetSocket} on another event loop): it then hops to the stream's context, one task per
 * call, and {@link #writeQueueFull()} accounts for writes still in flight. Piping on the same
 * context costs no hops. No locks are taken.
 *
 * <p>Reading: bytes are delivered only once a {@link #handler} is set (until then they stay
 * buffered within the stream's window), so an application may set handlers after
 * {@link #accept()}. The end (the peer's FIN) is delivered after all bytes. Written buffers are
 * owned by the stream from then on (sent by reference, sliced, never copied).
 *
 * <p>Errors: a reset by the peer, a local limit or the session closing is reported once to the
 * {@link #exceptionHandler} as a {@link StreamResetException}; pending writes are discarded.
 */
public interface Stream extends ReadStream<Buffer>, WriteStream<Buffer> {

  /** Stream id (odd: opened by the WebSocket client; even: by the server). */
  int id();

  /** True when this side opened the stream. */
  boolean isLocal();

  /** The OPEN kind ({@code WireSpec.KIND_*}). */
  int kind();

  /** The OPEN target, e.g. {@code 127.0.0.1:22}. */
  String target();

  /** The OPEN metadata (opaque; JSON by convention), possibly empty. */
  Buffer metadata();

  /** The session this stream belongs to. */
  Session session();

  /**
   * Accepts a stream the peer opened (sends OPEN_OK). Only for incoming streams not yet
   * accepted; fails if the stream was reset or timed out meanwhile.
   */
  Future<Stream> accept();

  /** Refuses a stream the peer opened (sends OPEN_ERR). */
  void reject(ErrorCode code, String reason);

  /** Aborts both directions (sends RESET); buffered data is discarded. */
  void reset(ErrorCode code, String reason);

  /** Completes when both directions are finished (or fails when reset). */
  Future<Void> closeFuture();

  /** Payload bytes received / sent so far. */
  long bytesIn();

  long bytesOut();

  @Override
  Stream exceptionHandler(Handler<Throwable> handler);

  @Override
  Stream handler(Handler<Buffer> handler);

  @Override
  Stream pause();

  @Override
  Stream resume();

  @Override
  Stream fetch(long amount);

  @Override
  Stream endHandler(Handler<Void> endHandler);

  @Override
  Stream setWriteQueueMaxSize(int maxSize);

  @Override
  Stream drainHandler(Handler<Void> handler);
}
