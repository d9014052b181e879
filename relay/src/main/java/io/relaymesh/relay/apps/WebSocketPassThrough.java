package io.relaymesh.relay.apps;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A WebSocket upgrade the app accepted ({@code 101}): the browser gets {@code 101} with the
 * app's {@code Upgrade}, {@code Connection} and {@code Sec-WebSocket-*} headers (written by
 * {@code HttpServerRequest.toNetSocket()}), then raw bytes are spliced both ways between the
 * browser's socket and the upstream connection (the HTTP codec removed; TLS to an https app
 * stays), with back-pressure in both directions. The browser's end half-closes the stream; the
 * app's end ends the browser socket; a reset on either side closes the other.
 *
 * <p>Threading: like {@link Http1Exchange}: the connection and the fields marked (u) on the
 * connection's context, the socket on the browser's context, hops in between.
 */
final class WebSocketPassThrough {

  private final Http1Exchange exchange;
  private final UpstreamConnection conn;
  private final HttpServerRequest req;
  private final Context browser;
  private final Context upstream;
  private final List<Buffer> pending = new ArrayList<>(); // (u) app bytes before the socket
  private NetSocket socket; // (u) once spliced (the socket itself is used on the browser side)
  private HopFlow up; // socket -> stream, set before the socket is read
  private HopFlow down; // stream -> socket
  private boolean appEnded; // (u)
  private boolean browserClosed; // (u)

  WebSocketPassThrough(Http1Exchange exchange, UpstreamConnection conn, HttpServerRequest req,
      Context browser) {
    this.exchange = exchange;
    this.conn = conn;
    this.req = req;
    this.browser = browser;
    this.upstream = conn.context;
  }

  /** On the app's 101 (connection context): answers the browser and takes its socket. */
  void start(HttpHeaders appHeaders) {
    conn.pause(); // until the browser socket is there
    HttpHeaders filtered = new DefaultHttpHeaders();
    HopByHop.copy(appHeaders, filtered, true);
    List<Map.Entry<String, String>> headers = filtered.entries();
    browser.runOnContext(v -> {
      try {
        req.response().setStatusCode(101);
        for (Map.Entry<String, String> e : headers) {
          req.response().headers().add(e.getKey(), e.getValue());
        }
        req.toNetSocket().onComplete(ar -> {
          if (ar.failed()) {
            upstream.runOnContext(x -> exchange.spliceOver("browser socket unavailable: "
                + ar.cause().getMessage()));
            return;
          }
          NetSocket s = ar.result();
          wireSocket(s);
          upstream.runOnContext(x -> spliced(s));
        });
      } catch (RuntimeException e) {
        upstream.runOnContext(x -> exchange.spliceOver("browser socket unavailable: "
            + e.getMessage()));
      }
    });
  }

  /** Browser side: socket -> connection. */
  private void wireSocket(NetSocket s) {
    HopFlow toApp = new HopFlow(browser, s::pause, s::resume);
    HopFlow toBrowser = new HopFlow(upstream, conn::pause, conn::resume);
    up = toApp;
    down = toBrowser;
    s.handler(b -> {
      toApp.sent(b.length());
      upstream.runOnContext(x -> {
        boolean ok = conn.write(((BufferInternal) b).getByteBuf());
        toApp.written(b.length(), ok && conn.writeQueueFull());
      });
    });
    s.drainHandler(v -> toBrowser.drained());
    s.endHandler(v -> upstream.runOnContext(x -> conn.endOutput()));
    s.exceptionHandler(e -> upstream.runOnContext(x -> browserClosed()));
    s.closeHandler(v -> upstream.runOnContext(x -> browserClosed()));
  }

  private void spliced(NetSocket s) {
    socket = s;
    conn.drainHandler(up::drained);
    conn.upgraded(); // bytes still in the codec come out raw now
    for (Buffer b : pending) {
      toBrowser(b);
    }
    pending.clear();
    if (appEnded) {
      browser.runOnContext(v -> s.end());
    }
    conn.resume();
  }

  /** A message from the app after the 101 (connection context). */
  void fromApp(Object msg) {
    if (msg instanceof HttpContent c) { // the empty end of the 101 head
      ByteBuf content = c.content();
      if (content.isReadable()) {
        fromAppBytes(BufferInternal.safeBuffer(content.retain()));
      }
      c.release();
    } else if (msg instanceof ByteBuf raw) {
      if (raw.isReadable()) {
        fromAppBytes(BufferInternal.safeBuffer(raw));
      } else {
        raw.release();
      }
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private void fromAppBytes(Buffer b) {
    if (socket == null) {
      pending.add(b);
    } else {
      toBrowser(b);
    }
  }

  private void toBrowser(Buffer b) {
    NetSocket s = socket;
    HopFlow flow = down;
    flow.sent(b.length());
    browser.runOnContext(v -> {
      s.write(b);
      flow.written(b.length(), s.writeQueueFull());
    });
  }

  /** The app ended its side (connection context). */
  void appEnded() {
    appEnded = true;
    NetSocket s = socket;
    if (s != null) {
      browser.runOnContext(v -> s.end());
    }
    if (browserClosed) {
      exchange.spliceOver("closed");
    }
  }

  /** The browser socket closed (connection context). */
  void browserClosed() {
    if (browserClosed) {
      return;
    }
    browserClosed = true;
    exchange.spliceOver(appEnded ? "closed" : "the browser closed the WebSocket connection");
  }

  /** The stream failed (connection context): the browser socket is closed. */
  void failed(String why) {
    NetSocket s = socket;
    if (s != null) {
      browser.runOnContext(v -> s.close());
    } else {
      browser.runOnContext(v -> exchange.resetBrowser());
    }
    exchange.spliceOver("stream " + why);
  }
}
