package io.relaymesh.relay.apps;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.buffer.BufferInternal;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One browser request forwarded over one {@link UpstreamConnection}, both bodies streamed with
 * back-pressure: the browser request pauses while the tunnel stream's send window is full, the
 * stream pauses while the browser response's write queue is full. The response head goes to the
 * browser once the app sent it; until then a failure fails the exchange with an
 * {@link AppProxyException} (the caller renders it), afterwards it resets the browser's
 * connection (HTTP/1.x) or stream (HTTP/2). The connection is given back to the pool when both
 * messages completed, both sides allow keep-alive and the response was length-delimited.
 * Interim {@code 1xx} answers are dropped ({@code Expect: 100-continue} is answered by the relay
 * itself and not forwarded); a {@code 101} to a WebSocket upgrade hands over to
 * {@link WebSocketPassThrough}.
 *
 * <p>Threading: the fields marked (u) are confined to the connection's context (the agent
 * tunnel's event loop), the browser request/response are only touched on the browser's context;
 * every call between the two hops with {@code runOnContext} (tasks from one thread run in order;
 * towards the browser through one ordered queue per exchange, {@link #toBrowser}).
 */
final class Http1Exchange implements UpstreamConnection.Listener {

  private static final Logger LOG = LoggerFactory.getLogger(Http1Exchange.class);

  /** A reused idle connection failed before any answer: the request may be sent again. */
  static final class StaleConnection extends RuntimeException {
    StaleConnection(String message) {
      super(message, null, false, false);
    }
  }

  private final Vertx vertx;
  private final UpstreamRequest plan;
  private final AppTarget target;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final Context browser;
  private final UpstreamConnection conn;
  private final Context upstream;
  private final boolean reused;
  private final Duration headTimeout;
  private final UpstreamPool pool;
  private final Promise<Void> done;
  private final HopFlow up; // browser request -> stream
  private final HopFlow down; // stream -> browser response

  private boolean finished; // (u)
  private boolean headReceived; // (u) the final response head arrived
  private boolean headToBrowser; // (u) the head was handed to the browser side
  private boolean interim; // (u) skipping a 1xx answer
  private boolean requestDone; // (u)
  private boolean responseDone; // (u)
  private boolean reusable; // (u)
  private long timer = -1; // (u)
  private WebSocketPassThrough ws; // (u)
  /** Browser-side tasks in order; see {@link #toBrowser}. */
  private final ConcurrentLinkedQueue<Runnable> browserTasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean browserScheduled = new AtomicBoolean();

  Http1Exchange(Vertx vertx, UpstreamRequest plan, AppTarget target, HttpServerRequest req,
      Context browser, UpstreamConnection conn, boolean reused, Duration headTimeout,
      UpstreamPool pool, Promise<Void> done) {
    this.vertx = vertx;
    this.plan = plan;
    this.target = target;
    this.req = req;
    this.resp = req.response();
    this.browser = browser;
    this.conn = conn;
    this.upstream = conn.context;
    this.reused = reused;
    this.headTimeout = headTimeout;
    this.pool = pool;
    this.done = done;
    this.reusable = !plan.close() && !plan.webSocket();
    this.up = new HopFlow(browser, req::pause, req::resume);
    this.down = new HopFlow(upstream, conn::pause, conn::resume);
  }

  /** Sends the head and wires both sides; on the connection's context. */
  void start() {
    conn.listener(this);
    armTimer();
    if (!conn.write(plan.head())) {
      return;
    }
    if (plan.body() == UpstreamRequest.Body.NONE) {
      if (!conn.write(LastHttpContent.EMPTY_LAST_CONTENT)) {
        return;
      }
      requestDone = true;
    } else {
      conn.drainHandler(up::drained);
    }
    toBrowser(() -> wireBrowser());
  }

  /**
   * Runs {@code task} on the browser's context, after the tasks given before: everything the
   * connection hands over in one turn of its loop (response head, body, end, completion of a
   * small answer) runs in one turn of the browser's, one hop and one wake-up instead of one per
   * step.
   */
  private void toBrowser(Runnable task) {
    browserTasks.add(task);
    if (browserScheduled.compareAndSet(false, true)) {
      browser.runOnContext(v -> runBrowserTasks());
    }
  }

  private void runBrowserTasks() {
    for (;;) {
      Runnable task;
      while ((task = browserTasks.poll()) != null) {
        try {
          task.run();
        } catch (RuntimeException e) {
          LOG.warn("app connection {}: browser-side step failed: {}", conn.id, e.toString());
        }
      }
      browserScheduled.set(false);
      if (browserTasks.isEmpty() || !browserScheduled.compareAndSet(false, true)) {
        return;
      }
    }
  }

  // ---- browser side (browser context) ----

  private void wireBrowser() {
    try {
      resp.closeHandler(v -> upstream.runOnContext(x -> browserGone("the browser closed the"
          + " connection")));
      resp.exceptionHandler(e -> upstream.runOnContext(x -> browserGone("browser: "
          + e.getMessage())));
      if (plan.webSocket()) {
        return; // no body; the request stays paused until toNetSocket or a plain answer
      }
      if (req.isEnded()) {
        return;
      }
      req.exceptionHandler(e -> upstream.runOnContext(x -> browserGone("browser request: "
          + e.getMessage())));
      if (plan.body() == UpstreamRequest.Body.NONE) {
        return; // resumed by AppForwarder.forward already
      }
      req.handler(b -> {
        up.sent(b.length());
        upstream.runOnContext(x -> bodyChunk(b));
      });
      req.endHandler(v -> upstream.runOnContext(x -> bodyEnd()));
      if (plan.expectContinue()) {
        resp.writeContinue();
      }
      req.resume();
    } catch (RuntimeException e) {
      upstream.runOnContext(x -> browserGone("browser request: " + e.getMessage()));
    }
  }

  private void sendHead(int status, String reason, MultiMap headers, boolean bodyless,
      boolean chunked) {
    try {
      resp.setStatusCode(status);
      if (!plan.http2() && reason != null && !reason.isEmpty()) {
        resp.setStatusMessage(reason);
      }
      if (plan.http2()) {
        headers.forEach((name, value) -> resp.headers()
            .add(name.toLowerCase(Locale.ROOT), value)); // HTTP/2 field names are lower case
      } else {
        resp.headers().addAll(headers);
      }
      if (plan.webSocket()) {
        req.resume();
      }
      if (bodyless) {
        return;
      }
      if (chunked) {
        resp.setChunked(true);
      }
      resp.drainHandler(v -> down.drained());
      if (!chunked || req.version() != io.vertx.core.http.HttpVersion.HTTP_1_0) {
        resp.writeHead(); // HTTP/1.0 has no chunking: its body ends with the connection
      }
    } catch (RuntimeException e) {
      upstream.runOnContext(x -> browserGone("browser response: " + e.getMessage()));
    }
  }

  private void browserWrite(Buffer b) {
    try {
      resp.write(b);
      down.written(b.length(), resp.writeQueueFull());
    } catch (RuntimeException e) {
      upstream.runOnContext(x -> browserGone("browser response: " + e.getMessage()));
    }
  }

  private void browserEnd() {
    try {
      resp.end();
    } catch (RuntimeException e) {
      LOG.info("app connection {}: ending the browser response failed: {}", conn.id,
          e.toString());
    }
  }

  /** After the head was sent the only honest signal left is a reset. */
  void resetBrowser() {
    try {
      if (plan.http2()) {
        resp.reset();
      } else {
        req.connection().close();
      }
    } catch (RuntimeException e) {
      LOG.debug("app connection {}: resetting the browser: {}", conn.id, e.toString());
    }
  }

  // ---- upstream side (connection context) ----

  private void bodyChunk(Buffer b) {
    if (finished || requestDone) {
      up.written(b.length(), false);
      return;
    }
    if (!conn.write(new DefaultHttpContent(((BufferInternal) b).getByteBuf()))) {
      return;
    }
    up.written(b.length(), conn.writeQueueFull());
  }

  private void bodyEnd() {
    if (finished || requestDone) {
      return;
    }
    if (!conn.write(LastHttpContent.EMPTY_LAST_CONTENT)) {
      return;
    }
    requestDone = true;
    conn.drainHandler(null);
    if (responseDone) {
      finish(null);
    } else if (!headReceived) {
      armTimer();
    }
  }

  @Override
  public void onMessage(Object msg) {
    if (finished) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (ws != null) {
      ws.fromApp(msg);
      return;
    }
    if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      badResponse("the app sent an invalid HTTP response: "
          + o.decoderResult().cause().getMessage());
      return;
    }
    if (msg instanceof HttpResponse r) {
      if (!onHead(r)) {
        ReferenceCountUtil.release(msg);
        return;
      }
    }
    if (msg instanceof HttpContent c) {
      onContent(c);
    } else if (!(msg instanceof HttpResponse)) {
      ReferenceCountUtil.release(msg);
      badResponse("unexpected bytes from the app");
    }
  }

  /** Returns false when the message was consumed (interim or upgrade). */
  private boolean onHead(HttpResponse r) {
    int status = r.status().code();
    if (status == 101 && plan.webSocket()) {
      headReceived = true;
      headToBrowser = true;
      vertx.cancelTimer(timer);
      ws = new WebSocketPassThrough(this, conn, req, browser);
      ws.start(r.headers());
      return false;
    }
    if (status >= 100 && status < 200) {
      interim = true;
      return true;
    }
    headReceived = true;
    vertx.cancelTimer(timer);
    boolean bodyless = plan.method().equals("HEAD") || status == 204 || status == 304;
    boolean lengthSet = HttpUtil.isContentLengthSet(r);
    boolean chunked = HttpUtil.isTransferEncodingChunked(r);
    if (!HttpUtil.isKeepAlive(r) || !(bodyless || lengthSet || chunked)) {
      reusable = false;
    }
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    HopByHop.copy(r.headers(), headers::add, false);
    String reason = r.status().reasonPhrase();
    headToBrowser = true;
    toBrowser(() -> sendHead(status, reason, headers, bodyless, !lengthSet));
    return true;
  }

  private void onContent(HttpContent c) {
    if (interim) {
      if (c instanceof LastHttpContent) {
        interim = false;
      }
      c.release();
      return;
    }
    ByteBuf content = c.content();
    if (content.isReadable()) {
      Buffer b = BufferInternal.safeBuffer(content.retain());
      down.sent(b.length());
      toBrowser(() -> browserWrite(b));
    }
    boolean last = c instanceof LastHttpContent;
    c.release();
    if (last) {
      responseDone = true;
      toBrowser(() -> browserEnd());
      if (requestDone) {
        finish(null);
      } else {
        finish("the app answered before the request body was complete");
      }
    }
  }

  @Override
  public void onEnd() {
    if (finished) {
      return;
    }
    if (ws != null) {
      ws.appEnded();
      return;
    }
    if (responseDone) {
      finish("the app closed the connection");
      return;
    }
    failed("the app closed the connection before its response was complete", false);
  }

  @Override
  public void onFailure(Throwable cause, boolean tls) {
    if (finished) {
      return;
    }
    if (ws != null) {
      ws.failed(cause.getMessage());
      return;
    }
    failed(cause.getMessage(), tls);
  }

  /**
   * The head timeout runs from the end of the request; while the request body is still being
   * sent it only fires when no byte went out for a whole period (a stuck upload).
   */
  private void armTimer() {
    vertx.cancelTimer(timer);
    long sent = conn.stream.bytesOut();
    timer = vertx.setTimer(Math.max(1, headTimeout.toMillis()), t -> timedOut(sent));
  }

  private void timedOut(long sentBefore) {
    timer = -1;
    if (finished || headReceived) {
      return;
    }
    if (!requestDone && conn.stream.bytesOut() != sentBefore) {
      armTimer();
      return;
    }
    conn.close("no response head within " + headTimeout.toSeconds() + " s");
    fail(new AppProxyException(504, "upstream_timeout", "the app on port " + target.port()
        + " in workspace " + target.workspace() + " (agent " + target.agent()
        + ") sent no response within " + headTimeout.toSeconds() + " s"));
  }

  private void badResponse(String why) {
    conn.close(why);
    failed(why, false);
  }

  private void failed(String why, boolean tls) {
    if (finished) {
      return;
    }
    conn.close(why);
    if (headToBrowser) {
      finished = true;
      vertx.cancelTimer(timer);
      LOG.info("app connection {}: exchange for {} {} broken after the response head: {}",
          conn.id, plan.method(), target.app(), why);
      toBrowser(() -> {
        resetBrowser();
        done.tryComplete();
      });
      return;
    }
    if (reused && !headReceived && plan.body() == UpstreamRequest.Body.NONE && !plan.webSocket()) {
      fail(new StaleConnection(why));
      return;
    }
    String where = "port " + target.port() + " in workspace " + target.workspace()
        + " (agent " + target.agent() + ")";
    if (tls) {
      fail(new AppProxyException(502, "upstream_tls_failed", "TLS with the https app on "
          + where + " failed: " + why));
    } else if (target.forwarded() && (conn.stream.session().isClosed()
        || conn.stream.session().isGoingAway())) {
      fail(new AppProxyException(502, "relay_unreachable", "the connection to relay "
          + conn.relay() + ", which holds agent '" + target.agent() + "' of workspace "
          + target.workspace() + ", broke: " + why));
    } else if (!target.forwarded() && target.tunnel().session().isClosed()) {
      fail(new AppProxyException(502, "agent_not_connected", "agent '" + target.agent()
          + "' of workspace " + target.workspace() + " disconnected from this relay: " + why));
    } else {
      fail(new AppProxyException(502, "bad_upstream_response", "the app on " + where
          + " gave no valid response: " + why));
    }
  }

  /** Fails before anything was written to the browser. */
  private void fail(RuntimeException e) {
    if (finished) {
      return;
    }
    finished = true;
    up.stop();
    down.stop();
    vertx.cancelTimer(timer);
    conn.drainHandler(null);
    conn.close(e.getMessage());
    toBrowser(() -> {
      if (!req.isEnded()) {
        req.resume();
      }
      done.tryFail(e);
    });
  }

  void browserGone(String why) {
    if (finished) {
      return;
    }
    if (ws != null) {
      ws.browserClosed();
      return;
    }
    finished = true;
    vertx.cancelTimer(timer);
    conn.close(why);
    LOG.info("app connection {}: {} {} of {} cancelled: {}", conn.id, plan.method(),
        pathForLog(plan.uri()), target.app(), why);
    toBrowser(() -> done.tryComplete());
  }

  /** The path without the query (which may carry an app's own tokens), at most 100 chars. */
  static String pathForLog(String uri) {
    int q = uri.indexOf('?');
    String path = q >= 0 ? uri.substring(0, q) : uri;
    return path.length() > 100 ? path.substring(0, 100) + "..." : path;
  }

  /** The exchange is over: the connection goes back to the pool unless {@code notReusable}. */
  void finish(String notReusable) {
    if (finished) {
      return;
    }
    finished = true;
    up.stop();
    down.stop();
    vertx.cancelTimer(timer);
    conn.drainHandler(null);
    conn.resume();
    if (notReusable == null && reusable && conn.isOpen()) {
      pool.giveBack(UpstreamPool.Key.of(target), conn);
    } else {
      conn.close(notReusable != null ? notReusable
          : "not reusable (Connection: close, HTTP/1.0 or close-delimited body)");
    }
    boolean resumeRequest = !requestDone && !plan.webSocket();
    toBrowser(() -> {
      if (resumeRequest && !req.isEnded()) {
        req.resume();
      }
      done.tryComplete();
    });
  }

  /** For the pass-through: completes the exchange when the splice is over. */
  void spliceOver(String reason) {
    if (finished) {
      return;
    }
    finished = true;
    conn.close(reason);
    toBrowser(() -> done.tryComplete());
  }
}
