package io.relaymesh.proxy.pipe;

import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connects a tunnel {@link Stream} and a TCP {@link NetSocket} in both directions with
 * end-to-end back-pressure: a slow reader on either end pauses the producer on the other,
 * through the stream's flow-control window.
 *
 * <ul>
 *   <li>socket EOF → stream FIN (after every byte the socket delivered); stream FIN → socket
 *       output shut down ({@code shutdownOutput}, TCP half-close, once the queued bytes are
 *       written; a socket that cannot half-close is ended instead);
 *   <li>socket error → stream RESET {@code CANCEL}; stream reset (by the peer or a limit) →
 *       socket closed.
 * </ul>
 *
 * <p>Vert.x 5 sockets do not support TCP half-closure on input (Netty's
 * {@code ALLOW_HALF_CLOSURE} is off and not configurable): when the target shuts down its output
 * (or simply closes after writing its answer), Netty closes the whole socket. Its close is
 * reported <em>before</em> the bytes and the EOF still queued in a paused socket are delivered,
 * so the close is not an error by itself: the socket → stream direction still drains and ends
 * with a FIN. The other direction can deliver nothing more: bytes the peer sends after the
 * close are discarded (they return their credit), its FIN ends the bridge normally, and — as
 * TCP answers data sent to a closed socket with RST — if it did send such bytes, the stream is
 * reset {@code CANCEL} once our FIN has been sent (never before: a RESET discards whatever is
 * still queued on either side).
 *
 * <p>Threading: may be called on any context; the socket and the stream may live on different
 * event loops (stream calls then hop, see {@link Stream}). The shared flags are atomics.
 */
public final class StreamBridge {
  private StreamBridge() {}

  /**
   * Starts both pumps; completes when both directions ended normally (including a target that
   * closed after its EOF), fails when either side was reset or failed.
   */
  public static Future<Void> bridge(Stream stream, NetSocket socket) {
    Promise<Void> toStreamDone = Promise.promise();
    Promise<Void> toSocketDone = Promise.promise();
    AtomicBoolean socketClosed = new AtomicBoolean();
    AtomicLong discarded = new AtomicLong();

    // socket -> stream
    stream.drainHandler(v -> socket.resume());
    socket.handler(b -> {
      stream.write(b); // a failed write resets the stream: reported by its exceptionHandler
      if (stream.writeQueueFull()) {
        socket.pause();
      }
    });
    socket.endHandler(v -> stream.end().onComplete(ar -> {
      if (ar.succeeded()) {
        toStreamDone.tryComplete();
      } else {
        toStreamDone.tryFail(ar.cause());
      }
    }));
    socket.exceptionHandler(e -> {
      String why = "socket failed: " + e.getMessage();
      stream.reset(ErrorCode.CANCEL, why);
      toStreamDone.tryFail(why);
      toSocketDone.tryFail(why);
      socket.close();
    });

    // stream -> socket
    socket.drainHandler(v -> stream.resume());
    stream.handler(b -> {
      if (socketClosed.get()) {
        discarded.addAndGet(b.length());
        if (toStreamDone.future().succeeded()) {
          refuseLateBytes(stream, discarded, toSocketDone);
        }
        return;
      }
      socket.write(b);
      if (socket.writeQueueFull()) {
        stream.pause();
      }
    });
    stream.endHandler(v -> {
      if (socketClosed.get()) {
        toSocketDone.tryComplete();
      } else {
        halfClose(socket).onComplete(ar -> {
          if (ar.succeeded() || socketClosed.get()) {
            toSocketDone.tryComplete(); // the target closed meanwhile: nothing was lost
          } else {
            toSocketDone.tryFail(ar.cause());
          }
        });
      }
    });
    stream.exceptionHandler(e -> {
      socket.close();
      toSocketDone.tryFail(e);
      toStreamDone.tryFail(e);
    });

    socket.closeHandler(v -> {
      socketClosed.set(true);
      stream.resume(); // nothing can be written any more: keep the peer's credit flowing
      // queued socket bytes and the EOF are still delivered to the stream after this
      toStreamDone.future().onSuccess(x -> {
        if (discarded.get() > 0) {
          refuseLateBytes(stream, discarded, toSocketDone);
        }
      });
    });
    // like pipeTo: both sources flow from now on, even if the caller paused them
    socket.resume();
    stream.resume();
    return Future.all(toStreamDone.future(), toSocketDone.future()).mapEmpty();
  }

  /** The peer wrote to a target that had closed: reset it, as TCP answers with RST. */
  private static void refuseLateBytes(Stream stream, AtomicLong discarded,
      Promise<Void> toSocketDone) {
    String why = "target closed the connection; " + discarded.get()
        + " bytes sent after its close were discarded";
    if (toSocketDone.tryFail(why)) {
      stream.reset(ErrorCode.CANCEL, why);
    }
  }

  /** Shuts down the socket's output after everything written so far has been flushed. */
  static Future<Void> halfClose(NetSocket socket) {
    if (socket instanceof NetSocketInternal) {
      Channel ch = ((NetSocketInternal) socket).channelHandlerContext().channel();
      if (ch instanceof DuplexChannel) {
        Promise<Void> p = Promise.promise();
        socket.write(Buffer.buffer()).onComplete(ar -> {
          if (ar.failed()) {
            p.fail(ar.cause());
            return;
          }
          ((DuplexChannel) ch).shutdownOutput().addListener(f -> {
            if (f.isSuccess()) {
              p.tryComplete();
            } else {
              p.tryFail(f.cause());
            }
          });
        });
        return p.future();
      }
    }
    return socket.end();
  }
}
