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

/**
 * Connects a tunnel {@link Stream} and a TCP {@link NetSocket} in both directions with
 * end-to-end back-pressure ({@code pipeTo}: a slow reader on either end pauses the producer on
 * the other, through the stream's flow-control window).
 *
 * <ul>
 *   <li>socket EOF → stream FIN; stream FIN → socket output shut down ({@code shutdownOutput},
 *       TCP half-close, once the queued bytes are written; a socket that cannot half-close is
 *       ended instead);
 *   <li>socket closed while the peer may still send (its FIN not seen yet), or socket error →
 *       stream RESET {@code CANCEL}; stream reset (by the peer or a limit) → socket closed.
 * </ul>
 *
 * <p>Limitation: Vert.x 5 sockets do not support TCP half-closure on input (Netty's
 * {@code ALLOW_HALF_CLOSURE} is off and not configurable): when a socket's peer shuts down its
 * output, Netty closes the whole socket, discarding bytes still queued for it. The bridge then
 * sends FIN followed by RESET {@code CANCEL} for the direction that can no longer be delivered.
 * Half-close on output (stream FIN → {@code shutdownOutput}) and half-close within the tunnel are
 * fully supported.
 *
 * <p>Threading: may be called on any context; the socket and the stream may live on different
 * event loops (the stream then hops, see {@link Stream}).
 */
public final class StreamBridge {
  private StreamBridge() {}

  /** Starts both pipes; completes when both directions ended normally, fails otherwise. */
  public static Future<Void> bridge(Stream stream, NetSocket socket) {
    Promise<Void> toStreamDone = Promise.promise();
    Promise<Void> toSocketDone = Promise.promise();
    socket.closeHandler(v -> {
      if (!toSocketDone.future().isComplete()) {
        // the socket can take no more bytes: stop the peer (its FIN was not seen yet)
        stream.reset(ErrorCode.CANCEL, "socket closed");
        if (toStreamDone.future().succeeded()) {
          toSocketDone.tryComplete(); // EOF then close: a normal end for a TCP target
        } else {
          toSocketDone.tryFail("socket closed");
        }
      }
      toStreamDone.tryFail("socket closed");
    });
    socket.pipe().endOnFailure(false).to(stream).onComplete(ar -> {
      if (ar.failed()) {
        stream.reset(ErrorCode.CANCEL, "socket failed: " + ar.cause().getMessage());
        toStreamDone.tryFail(ar.cause());
      } else {
        toStreamDone.tryComplete();
      }
    });
    stream.pipe().endOnFailure(false).endOnSuccess(false).to(socket).onComplete(ar -> {
      if (ar.failed()) {
        socket.close();
        toSocketDone.tryFail(ar.cause());
      } else {
        halfClose(socket).onComplete(toSocketDone);
      }
    });
    return Future.all(toStreamDone.future(), toSocketDone.future()).mapEmpty();
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
