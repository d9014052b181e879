package io.relaymesh.relay.tunnel;

import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Joins a client stream and an agent stream in both directions with back-pressure: bytes read
 * from one are written to the other, and the reader pauses while the writer's queue is full (so
 * the tunnel flow-control windows carry the back-pressure end to end). A FIN is passed on as a
 * FIN (half-close); a RESET on either side resets the other with the same code.
 *
 * <p>Threading: the two streams usually live on different event loops; each handler runs on its
 * stream's context and calls the other stream's methods, which hop (see {@link Stream}).
 */
public final class Splice {

  /**
   * How a spliced connection ended.
   *
   * @param bytesFromClient payload bytes the client sent
   * @param bytesToClient payload bytes sent to the client
   * @param closeReason {@code closed} for a normal end of both directions, else who reset and why
   */
  public record Result(long bytesFromClient, long bytesToClient, String closeReason) {}

  private Splice() {}

  /** Starts the splice; completes (never fails) when both streams are finished. */
  public static Future<Result> splice(Stream client, Stream agent) {
    return splice(client, agent, "agent stream");
  }

  /**
   * Like {@link #splice(Stream, Stream)}; a reset of the upstream side reaches the client as
   * {@code <upstreamLabel>: <reason>} (e.g. {@code relay eu/eu-1: tunnel closed} for a forwarded
   * stream).
   */
  public static Future<Result> splice(Stream client, Stream agent, String upstreamLabel) {
    AtomicReference<String> reason = new AtomicReference<>();
    client.exceptionHandler(e -> {
      reason.compareAndSet(null, "client " + describe(e));
      agent.reset(codeOf(e), "client stream: " + reasonOf(e));
    });
    agent.exceptionHandler(e -> {
      reason.compareAndSet(null, "agent " + describe(e));
      client.reset(codeOf(e), upstreamLabel + ": " + reasonOf(e));
    });
    pump(client, agent);
    pump(agent, client);
    return Future.join(client.closeFuture(), agent.closeFuture()).transform(ar -> {
      String r = reason.get();
      return Future.succeededFuture(new Result(client.bytesIn(), client.bytesOut(),
          r != null ? r : ar.succeeded() ? "closed" : "reset: " + ar.cause().getMessage()));
    });
  }

  private static void pump(Stream from, Stream to) {
    to.drainHandler(v -> from.resume());
    from.handler(buffer -> {
      to.write(buffer);
      if (to.writeQueueFull()) {
        from.pause();
      }
    });
    from.endHandler(v -> to.end());
  }

  private static ErrorCode codeOf(Throwable e) {
    return e instanceof StreamResetException r ? r.code() : ErrorCode.CANCEL;
  }

  private static String reasonOf(Throwable e) {
    return e instanceof StreamResetException r ? r.reason() : String.valueOf(e.getMessage());
  }

  private static String describe(Throwable e) {
    if (e instanceof StreamResetException r) {
      return (r.isRemote() ? "reset " : "stream ended ") + r.code() + ": " + r.reason();
    }
    return "error: " + e.getMessage();
  }
}
