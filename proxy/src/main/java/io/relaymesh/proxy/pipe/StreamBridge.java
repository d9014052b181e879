package io.relaymesh.proxy.pipe;

import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.vertx.core.Future;
import io.vertx.core.Handler;
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
 *   <li>socket error → stream RESET {@code CANCEL}; stream reset (by the peer or a limit, or its
 *       session lost) before the stream's FIN → socket aborted with a TCP RST, never closed with
 *       a FIN that would make a cut transfer look complete; a reset after the FIN closes the
 *       socket normally, so the complete answer queued for it is still delivered.
 * </ul>
 *
 * <p>TCP half-close works both ways. Vert.x 5 sockets leave Netty's
 * {@code ALLOW_HALF_CLOSURE} off, so a peer's FIN would close the whole socket: the answer to a
 * client that sent its request and shut down its output ({@code nc -N}, HTTP/1.0-style clients)
 * could not be written any more, and the close overtook bytes still queued in a paused socket
 * (Vert.x queues reads at two levels while paused; its end-of-stream goes into the second level
 * only, ahead of reads still parked in the first), cutting bulk downloads short. {@link #prepare}
 * (called by {@link #bridge}, and by callers as soon as they have the socket) turns half-closure
 * on and turns Netty's input-shutdown event into an empty read that travels through the same
 * queues as the data, so the FIN is sent after every byte read before it. The socket is closed
 * once both directions are done.
 *
 * <p>A socket that closes before both directions are done (the target reset the connection, a
 * write to it failed) cannot deliver anything more: bytes the peer sends afterwards are
 * discarded (they return their credit), its FIN ends the bridge, and the stream is reset
 * {@code CANCEL} once our FIN has been sent (never before: a RESET discards whatever is still
 * queued on either side).
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
    AtomicBoolean inputEnded = new AtomicBoolean();
    AtomicLong discarded = new AtomicLong();
    boolean halfClosable = prepare(socket);

    // socket -> stream
    Handler<Void> endOfInput = v -> {
      if (inputEnded.compareAndSet(false, true)) {
        stream.end().onComplete(ar -> {
          if (ar.succeeded()) {
            toStreamDone.tryComplete();
          } else {
            toStreamDone.tryFail(ar.cause());
          }
        });
      }
    };
    stream.drainHandler(v -> socket.resume());
    socket.handler(b -> {
      if (b.length() == 0) { // the input-shutdown marker (see prepare), after every byte read
        endOfInput.handle(null);
        return;
      }
      stream.write(b); // a failed write resets the stream: reported by its exceptionHandler
      if (stream.writeQueueFull()) {
        socket.pause();
      }
    });
    // a socket that closes: after the marker, nothing more; without it (it cannot half-close,
    // or it closed before its EOF) its queued bytes and this end are all that is left
    socket.endHandler(endOfInput);
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
    AtomicBoolean streamEnded = new AtomicBoolean();
    stream.endHandler(v -> {
      streamEnded.set(true);
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
      if (streamEnded.get()) {
        // the peer's FIN came first: everything it sent is complete (e.g. a target that
        // answered, then closed while the client was still uploading); deliver that tail
        socket.close();
      } else {
        abort(socket); // a reset, never an EOF: a cut transfer must not look complete
      }
      toSocketDone.tryFail(e);
      toStreamDone.tryFail(e);
    });

    socket.closeHandler(v -> {
      socketClosed.set(true);
      stream.resume(); // nothing can be written any more: keep the peer's credit flowing
      // queued socket bytes and the EOF are still delivered to the stream after this. A socket
      // that can half-close closes before both directions are done only when it failed (reset
      // by the target, a failed write): what the peer sent may be lost, tell it once our FIN
      // is out (no-op when we closed it ourselves, the bridge is then complete)
      toStreamDone.future().onSuccess(x -> {
        if (discarded.get() > 0 || halfClosable) {
          refuseLateBytes(stream, discarded, toSocketDone);
        }
      });
    });
    // like pipeTo: both sources flow from now on, even if the caller paused them
    socket.resume();
    stream.resume();
    Future<Void> done = Future.all(toStreamDone.future(), toSocketDone.future()).mapEmpty();
    if (halfClosable) {
      // both directions are done (or failed): Netty does not close a half-closed socket itself
      done.onComplete(ar -> socket.close());
    }
    return done;
  }

  /**
   * Makes {@code socket} support TCP half-close: turns Netty's {@code ALLOW_HALF_CLOSURE} on and
   * reports the peer's FIN as an empty buffer to the socket's handler, in order after every byte
   * read before it. Call it as soon as the socket exists, before it reads anything (a FIN read
   * earlier would still close the whole socket); {@link #bridge} calls it too. Idempotent.
   *
   * @return false if the socket is not a Netty socket that can half-close
   */
  public static boolean prepare(NetSocket socket) {
    if (!(socket instanceof NetSocketInternal)) {
      return false;
    }
    ChannelHandlerContext ctx = ((NetSocketInternal) socket).channelHandlerContext();
    Channel ch = ctx.channel();
    if (!(ch instanceof DuplexChannel)) {
      return false;
    }
    ChannelPipeline pipeline = ch.pipeline();
    synchronized (pipeline) {
      if (pipeline.get(InputShutdownMarker.NAME) != null) {
        return true; // prepared earlier (its FIN may have been read since)
      }
      if (!ch.isOpen() || ((DuplexChannel) ch).isInputShutdown()) {
        return false; // too late: it has read its FIN already (and closed)
      }
      // the marker first: a FIN read before the option is set still closes the socket (and
      // reaches the end handler); one read after it reaches the marker, never a handler that
      // drops the input-shutdown event
      try {
        pipeline.addBefore(ctx.name(), InputShutdownMarker.NAME, InputShutdownMarker.INSTANCE);
      } catch (java.util.NoSuchElementException e) {
        return false; // the socket's handler is gone: it is closed
      }
      ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }
    return true;
  }

  /**
   * Sits before Vert.x's handler: turns the input-shutdown event, which Vert.x would deliver out
   * of band (ahead of reads queued while the socket is paused), into an empty read queued behind
   * them.
   */
  @ChannelHandler.Sharable
  private static final class InputShutdownMarker extends ChannelInboundHandlerAdapter {
    static final String NAME = "relaymesh-input-shutdown";
    static final InputShutdownMarker INSTANCE = new InputShutdownMarker();

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof ChannelInputShutdownEvent) {
        ctx.fireChannelRead(Unpooled.EMPTY_BUFFER);
        ctx.fireChannelReadComplete();
      }
      super.userEventTriggered(ctx, evt);
    }
  }

  /** The peer wrote to a target that had closed: reset it, as TCP answers with RST. */
  private static void refuseLateBytes(Stream stream, AtomicLong discarded,
      Promise<Void> toSocketDone) {
    long n = discarded.get();
    String why = "target closed the connection"
        + (n > 0 ? "; " + n + " bytes sent after its close were discarded" : "");
    if (toSocketDone.tryFail(why)) {
      stream.reset(ErrorCode.CANCEL, why);
    }
  }

  /**
   * Closes {@code socket} with a TCP RST ({@code SO_LINGER} 0): its peer sees "connection reset",
   * as a stream reset means, and not the EOF of a normal close, which would make a transfer cut
   * short by a failure (a relay or agent gone, a limit) look complete.
   */
  static void abort(NetSocket socket) {
    if (socket instanceof NetSocketInternal s) {
      Channel ch = s.channelHandlerContext().channel();
      if (ch.isOpen()) {
        try {
          ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
          // not a socket that lingers: the close below is all there is
        }
      }
    }
    socket.close();
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
