package io.relaymesh.proxy.transport;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.relaymesh.proxy.wire.WireSpec;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.internal.http.WebSocketInternal;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a Vert.x {@link WebSocketBase} (client {@code WebSocket} or {@code ServerWebSocket})
 * negotiated with subprotocol {@code relaymesh.v1} to a {@link TunnelTransport}. Each session
 * message is one binary WebSocket message. Create it on the WebSocket's context.
 */
public final class WebSocketTransport implements TunnelTransport {
  private final WebSocketBase ws;
  private Handler<Refused> refused;

  private static final Logger LOG = LoggerFactory.getLogger(WebSocketTransport.class);

  private WebSocketTransport(WebSocketBase ws) {
    this.ws = ws;
    ws.exceptionHandler(this::failed);
  }

  /**
   * Vert.x reports here what it refused of the peer's input: a frame whose header announces more
   * than the frame limit (Netty's decoder, before reading the payload: a
   * {@link CorruptedWebSocketFrameException} with status 1009, after which Netty drops the
   * connection) and a message that grows beyond the message limit (Vert.x drops the part it
   * gathered, reports an {@link IllegalStateException} and carries on with the next frame, i.e.
   * the session would see the message's tail as a message). Either way input is lost: the
   * session must end, not go on.
   */
  private void failed(Throwable t) {
    LOG.debug("tunnel websocket {}: {}", ws.remoteAddress(), t.toString());
    Refused r = null;
    if (t instanceof CorruptedWebSocketFrameException c) {
      r = new Refused(c.closeStatus() != null
          && c.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code()
          ? Refused.MESSAGE_SIZE : io.relaymesh.proxy.session.Refusals.PROTOCOL_ERROR,
          "websocket frame refused: " + t.getMessage());
    } else if (t instanceof IllegalStateException && String.valueOf(t.getMessage())
        .contains("max message size")) {
      r = new Refused(Refused.MESSAGE_SIZE, "websocket message refused: " + t.getMessage());
    }
    if (r != null && refused != null) {
      refused.handle(r);
    }
  }

  @Override
  public void refusedHandler(Handler<Refused> handler) {
    this.refused = handler;
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
      closeWithin(ws, 1002, "tunnel subprotocol " + WireSpec.SUBPROTOCOL + " required, got "
          + ws.subProtocol());
      return null;
    }
    return new WebSocketTransport(ws);
  }

  /**
   * Server side, before {@code req.toWebSocket()}: when the upgrade request offers unmasked
   * frames ({@link WireSpec#UNMASKED_FRAMES_HEADER}), answers the offer in the 101 response.
   * Call it only on a server whose {@code HttpServerOptions.setAcceptUnmaskedFrames(true)} is
   * set (it still accepts masked frames). Returns whether the offer was accepted.
   */
  public static boolean acceptUnmaskedFrames(HttpServerRequest req) {
    if (WireSpec.UNMASKED_FRAMES_VALUE.equals(req.getHeader(WireSpec.UNMASKED_FRAMES_HEADER))) {
      req.response().putHeader(WireSpec.UNMASKED_FRAMES_HEADER, WireSpec.UNMASKED_FRAMES_VALUE);
      return true;
    }
    return false;
  }

  /**
   * Client side, right after the upgrade: if the server's 101 answer ({@code upgradeHeaders})
   * accepted unmasked frames, replaces the WebSocket's frame encoder with one that does not
   * mask, so the payload is not read and rewritten byte by byte. Otherwise (a server that did
   * not answer the offer) frames stay masked. Returns whether frames are now sent unmasked.
   */
  public static boolean unmaskIfAccepted(WebSocketBase ws, MultiMap upgradeHeaders) {
    if (upgradeHeaders == null
        || !WireSpec.UNMASKED_FRAMES_VALUE.equals(upgradeHeaders.get(WireSpec.UNMASKED_FRAMES_HEADER))
        || !(ws instanceof WebSocketInternal internal)) {
      return false;
    }
    ChannelHandlerContext chctx = internal.channelHandlerContext();
    if (chctx == null) {
      return false;
    }
    ChannelPipeline pipeline = chctx.pipeline();
    Runnable swap = () -> {
      ChannelHandlerContext enc = pipeline.context(WebSocketFrameEncoder.class);
      if (enc != null) {
        pipeline.replace(enc.handler(), enc.name(), new WebSocket13FrameEncoder(false));
      }
    };
    if (chctx.executor().inEventLoop()) {
      swap.run();
    } else {
      // frames written before the swap are masked, which the server accepts as well
      chctx.executor().execute(swap);
    }
    return true;
  }

  /**
   * Unsent bytes the kernel may hold per tunnel socket ({@code TCP_NOTSENT_LOWAT}) before the
   * socket stops reporting writable; system property {@code relaymesh.tunnel.notsentLowat}
   * (bytes; 0 leaves the kernel default, i.e. unlimited up to the send buffer).
   */
  public static final long NOTSENT_LOWAT = Long.getLong("relaymesh.tunnel.notsentLowat", 128 * 1024);

  private static final String NOTSENT_LOWAT_OPTION =
      "io.netty.channel.epoll.EpollChannelOption#TCP_NOTSENT_LOWAT";

  /**
   * Limits the bytes queued unsent in the kernel below this tunnel's socket to
   * {@link #NOTSENT_LOWAT} (epoll transport only; no-op elsewhere). Without it a bulk stream
   * fills the kernel's multi-MiB send buffer and every other stream's frames wait behind it;
   * with it the socket stops being writable early, so bulk bytes wait in the session's
   * per-stream queues, where the round-robin puts small writes first. It does not cap the
   * congestion window. Returns whether the option was set.
   */
  public static boolean limitUnsentBytes(WebSocketBase ws) {
    if (NOTSENT_LOWAT <= 0 || !(ws instanceof WebSocketInternal internal)
        || !io.netty.channel.ChannelOption.exists(NOTSENT_LOWAT_OPTION)) {
      return false;
    }
    ChannelHandlerContext chctx = internal.channelHandlerContext();
    if (chctx == null) {
      return false;
    }
    io.netty.channel.ChannelOption<Object> option =
        io.netty.channel.ChannelOption.valueOf(NOTSENT_LOWAT_OPTION);
    try {
      return chctx.channel().config().setOption(option, (Object) NOTSENT_LOWAT);
    } catch (RuntimeException e) { // a channel type that rejects it
      LOG.debug("TCP_NOTSENT_LOWAT not set on {}: {}", ws.remoteAddress(), e.toString());
      return false;
    }
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

  /**
   * How long a close waits for the peer's answer before the connection is dropped (ms; system
   * property {@code relaymesh.tunnel.closeTimeoutMs}). A peer that does not read never gets our
   * close frame (it waits behind everything queued for it), so Vert.x's own closing timeout,
   * which starts once the frame is written, never starts: without this the connection and what
   * is queued for it stay forever.
   */
  public static final long CLOSE_TIMEOUT_MS = Long.getLong("relaymesh.tunnel.closeTimeoutMs",
      5000);

  @Override
  public void close(int status, String reason) {
    closeWithin(ws, status, reason);
  }

  /**
   * Sends a close frame and drops the connection if it is still open {@link #CLOSE_TIMEOUT_MS}
   * later; from any thread. While the channel cannot take more bytes the close frame is held back
   * until it can (checked every {@link #WRITABLE_POLL_MS} ms on the channel's event loop): written
   * earlier, it would wait in Vert.x's own write queue, and a drop (ours, or the peer vanishing)
   * fails that write after Vert.x has finished closing the connection; Vert.x then arms its
   * closing timer anyway, which later closes with a promise that is already done ("promise
   * already done", Vert.x 5.0.7; seen in CI before a relay's Vert.x did not finish closing).
   * {@code WebSocketCloseTest} covers a peer that never reads (no close frame, dropped) and one
   * that reads late (gets the close frame with its status).
   */
  private static void closeWithin(WebSocketBase ws, int status, String reason) {
    if (ws.isClosed()) {
      return;
    }
    io.netty.channel.Channel ch = ws instanceof WebSocketInternal internal
        && internal.channelHandlerContext() != null
        ? internal.channelHandlerContext().channel() : null;
    if (ch == null || ch.isWritable()) {
      ws.close((short) status, reason);
    } else {
      long deadline = System.nanoTime() + CLOSE_TIMEOUT_MS * 1_000_000L;
      ch.eventLoop().schedule(new Runnable() {
        @Override
        public void run() {
          if (!ch.isActive() || ws.isClosed()) {
            return;
          }
          if (ch.isWritable()) {
            ws.close((short) status, reason);
          } else if (System.nanoTime() - deadline < 0) {
            ch.eventLoop().schedule(this, WRITABLE_POLL_MS, TimeUnit.MILLISECONDS);
          }
        }
      }, WRITABLE_POLL_MS, TimeUnit.MILLISECONDS);
    }
    if (ch != null) {
      ch.eventLoop().schedule(() -> {
        if (ch.isActive()) {
          LOG.info("tunnel websocket {}: close not answered within {} ms (the peer does not"
              + " read, or does not answer); dropping the connection", ws.remoteAddress(),
              CLOSE_TIMEOUT_MS);
          // below the pipeline: a TLS close would wait for its close_notify, which is queued
          // behind the same unread bytes; this closes the socket and fails what is queued
          ch.unsafe().close(ch.unsafe().voidPromise());
        }
      }, CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }
  }

  /** How often a held-back close frame checks whether the channel takes bytes again (ms). */
  private static final long WRITABLE_POLL_MS = 50;

  @Override
  public String describe() {
    return "websocket " + ws.remoteAddress();
  }
}
