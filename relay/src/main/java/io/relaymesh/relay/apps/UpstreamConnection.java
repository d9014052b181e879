package io.relaymesh.relay.apps;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.ReferenceCountUtil;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.relay.control.Reporter;
import io.relaymesh.relay.tunnel.Forwarder;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/1.1 connection to a workspace app: a tunnel stream to {@code 127.0.0.1:<port>} on the
 * agent, with a Netty {@link HttpClientCodec} (behind an {@link SslHandler} in client mode for an
 * {@code https} app, certificate not verified: a loopback service) in an
 * {@link EmbeddedChannel} fed by the stream. Bytes the codec produces are written to the stream;
 * bytes the stream delivers are decoded and handed to the current {@link Listener} (an exchange),
 * as {@code HttpObject}s, or raw {@link ByteBuf}s once the codec is removed after a WebSocket
 * upgrade. No HTTP parsing of our own.
 *
 * <p>Open and close are logged (ids, app, user, bytes, duration, reason) and every connection is
 * recorded in the control plane's connection log at its close.
 *
 * <p>Threading: event-loop only, on the context of the agent's tunnel session (the stream's);
 * the embedded channel is only touched there.
 */
final class UpstreamConnection {

  private static final Logger LOG = LoggerFactory.getLogger(UpstreamConnection.class);
  static final int MAX_HEADER_BYTES = 64 * 1024;
  static final int MAX_CHUNK_BYTES = 64 * 1024;

  /** What the current exchange hears from the connection; called on the connection's context. */
  interface Listener {
    /** A decoded {@code HttpObject}, or a raw {@link ByteBuf} after an upgrade (to release). */
    void onMessage(Object message);

    /** The connection failed (stream reset, TLS or codec failure); it is closed already. */
    void onFailure(Throwable cause, boolean tls);

    /** The app closed its side (FIN), after every decoded message. */
    void onEnd();
  }

  private static final SslContext INSECURE_TLS = insecureTls();

  final String id;
  final AppTarget target;
  final Stream stream;
  final Context context;
  private final Instant started = Instant.now();
  private final EmbeddedChannel channel;
  private HttpClientCodec codec;
  private Listener listener;
  private boolean closed;
  private boolean ended;
  private String closeReason;
  private int exchanges;
  private volatile Runnable onIdleLoss; // cleared by the pool, maybe from another loop
  long idleTimer = -1;

  /** For logs: {@code at-3} (agent tunnel here), or the relay holding the agent. */
  private final String tunnelId;
  /** {@code forwarded to eu/eu-1} for the connection log, or null for a direct connection. */
  private final String via;
  /** This connection's record in the connection log (null without a reporter). */
  private final Reporter.Opened record;

  private UpstreamConnection(String id, AppTarget target, Stream stream, Reporter reporter,
      String relay) {
    this.id = id;
    this.tunnelId = relay == null ? target.tunnel().id() : "peer " + relay;
    this.via = relay == null ? null : "forwarded to " + relay;
    this.target = target;
    this.stream = stream;
    this.context = stream.session().context();
    this.channel = new EmbeddedChannel();
    if (target.https()) {
      SslHandler ssl = INSECURE_TLS.newHandler(channel.alloc(), "127.0.0.1", target.port());
      ssl.setHandshakeTimeoutMillis(0); // the exchange's head timeout covers a stuck handshake
      channel.pipeline().addLast("tls", ssl);
    }
    codec = new HttpClientCodec(4096, MAX_HEADER_BYTES, MAX_CHUNK_BYTES);
    channel.pipeline().addLast("http", codec);
    channel.pipeline().addLast("exchange", new Tail());
    stream.handler(this::fromApp);
    stream.endHandler(v -> onStreamEnd());
    stream.exceptionHandler(this::onStreamError);
    this.record = reporter == null ? null : reporter.opened(record(target, started, via));
    stream.closeFuture().onComplete(ar -> logClosed(ar.succeeded() ? "closed"
        : "stream " + ar.cause().getMessage()));
    drainOutbound();
  }

  /**
   * Opens a stream to the app's port on the agent of {@code target}; completes on the stream's
   * session's context. Fails with the session's {@code StreamRefusedException} when the agent
   * refuses. A {@linkplain AppTarget#forwarded() forwarded} target is opened through
   * {@code peers} on the relay holding the agent: kind {@code APP} to {@code 127.0.0.1:<port>}
   * with OPEN metadata {@code {"app", "appToken" (not on a public share), "user",
   * "connectionId", "clientAddress"}} (docs/relay.md "Forwarding"); the TLS of an {@code s} app
   * is still spoken here, the other relay only carries bytes.
   */
  static Future<UpstreamConnection> open(AppTarget target, String id, Reporter reporter,
      Forwarder peers) {
    JsonObject meta = new JsonObject().put("user", target.username())
        .put("connectionId", id).put("clientAddress", target.clientAddress())
        .put("app", target.app());
    String to = "127.0.0.1:" + target.port();
    Future<Forwarder.Forwarded> opened;
    if (target.forwarded()) {
      if (peers == null) {
        return Future.failedFuture(new StreamRefusedException(ErrorCode.UNREACHABLE,
            ErrorCode.UNREACHABLE.value(), target.agentDescription() + " is not connected to"
            + " this relay, which does not forward", false));
      }
      if (target.appToken() != null) {
        meta.put("appToken", target.appToken());
      }
      opened = peers.open(target.agentId(), target.agentDescription(), WireSpec.KIND_APP, to,
          meta);
    } else {
      opened = target.tunnel().session().open(WireSpec.KIND_TCP, to, meta.toBuffer())
          .map(s -> new Forwarder.Forwarded(s, null));
    }
    Promise<UpstreamConnection> p = Promise.promise();
    Context home = target.forwarded() ? Vertx.currentContext()
        : target.tunnel().session().context();
    opened.onComplete(ar -> {
      Context ctx = ar.succeeded() ? ar.result().stream().session().context() : home;
      if (ctx == null) {
        completeHere(p, ar, target, id, reporter);
      } else {
        ctx.runOnContext(v -> completeHere(p, ar, target, id, reporter));
      }
    });
    return p.future();
  }

  private static void completeHere(Promise<UpstreamConnection> p,
      io.vertx.core.AsyncResult<Forwarder.Forwarded> ar, AppTarget target, String id,
      Reporter reporter) {
          if (ar.failed()) {
            p.fail(ar.cause());
            return;
          }
          UpstreamConnection c = new UpstreamConnection(id, target, ar.result().stream(),
              reporter, ar.result().relay());
          LOG.atInfo().setMessage("stream open").addKeyValue("stream_id", id)
              .addKeyValue("kind", "app").addKeyValue("user", user(target))
              .addKeyValue("workspace", target.workspace()).addKeyValue("agent", target.agent())
              .addKeyValue("app", target.app()).addKeyValue("port", target.port())
              .addKeyValue("https", target.https()).addKeyValue("remote", target.clientAddress())
              .addKeyValue("tunnel_id", c.tunnelId)
              .addKeyValue("stream", c.stream.id()).log();
          p.complete(c);
  }

  /** Starts an exchange on this connection. */
  void listener(Listener l) {
    listener = l;
    if (l != null) {
      exchanges++;
    }
  }

  /** The relay holding the agent ({@code eu/eu-1}) of a forwarded connection, else null. */
  String relay() {
    return via == null ? null : via.substring("forwarded to ".length());
  }

  boolean isOpen() {
    return !closed && !ended;
  }

  int exchanges() {
    return exchanges;
  }

  /** Run when the connection dies while idle (the pool forgets it). */
  void onIdleLoss(Runnable r) {
    onIdleLoss = r;
  }

  /**
   * Encodes {@code message} ({@code HttpObject}, or {@link ByteBuf} after the upgrade) and
   * writes the bytes to the stream. Returns false when the connection failed (the listener was
   * told).
   */
  boolean write(Object message) {
    if (closed) {
      ReferenceCountUtil.release(message);
      return false;
    }
    try {
      // a failed write (e.g. queued behind a TLS handshake that fails) reaches the Tail
      channel.writeAndFlush(message, channel.voidPromise());
      channel.runPendingTasks();
    } catch (Exception e) { // the embedded channel rethrows recorded (also checked) exceptions
      fail(e, false);
      return false;
    }
    drainOutbound();
    return !closed;
  }

  /** Half-closes our side (after a WebSocket client's end). */
  void endOutput() {
    if (!closed) {
      stream.end();
    }
  }

  /** Removes the HTTP codec: from now on bytes pass raw both ways (after a 101). */
  void upgraded() {
    if (codec != null && !closed) {
      HttpClientCodec c = codec;
      codec = null;
      try {
        channel.pipeline().remove(c);
      } catch (Exception e) { // the embedded channel rethrows recorded (also checked) exceptions
        fail(e, false);
      }
    }
  }

  /** Whether the stream's send window is full (pause the producer until it drains). */
  boolean writeQueueFull() {
    return stream.writeQueueFull();
  }

  void drainHandler(Runnable r) {
    stream.drainHandler(r == null ? null : v -> r.run());
  }

  void pause() {
    stream.pause();
  }

  void resume() {
    stream.resume();
  }

  /** Closes the connection (stream reset unless it already finished); idempotent. */
  void close(String reason) {
    if (closed) {
      return;
    }
    closeReason = reason;
    closed = true;
    listener = null;
    stream.reset(ErrorCode.CANCEL, reason);
    context.runOnContext(v -> releaseChannel()); // not from inside a pipeline callback
  }

  private void fromApp(Buffer b) {
    if (closed) {
      return;
    }
    try {
      channel.writeInbound(((BufferInternal) b).getByteBuf());
    } catch (Exception e) { // the embedded channel rethrows recorded (also checked) exceptions
      fail(e, false);
      return;
    }
    drainOutbound();
  }

  private void onStreamEnd() {
    ended = true;
    if (closed) {
      return;
    }
    try {
      if (codec != null) {
        channel.finish(); // lets the decoder end a close-delimited body
      }
    } catch (Exception e) { // the embedded channel rethrows recorded (also checked) exceptions
      fail(e, false);
      return;
    }
    Listener l = listener;
    if (l != null) {
      l.onEnd();
    } else {
      close("the app closed the idle connection");
      lostWhileIdle();
    }
  }

  private void onStreamError(Throwable e) {
    if (closed) {
      return;
    }
    closeReason = "stream " + e.getMessage();
    closed = true;
    Listener l = listener;
    listener = null;
    context.runOnContext(v -> releaseChannel());
    if (l != null) {
      l.onFailure(e, false);
    } else {
      lostWhileIdle();
    }
  }

  private void fail(Throwable e, boolean tls) {
    if (closed) {
      return;
    }
    Listener l = listener;
    close((tls ? "TLS failure: " : "failure: ") + e.getMessage());
    if (l != null) {
      l.onFailure(e, tls);
    } else {
      lostWhileIdle();
    }
  }

  private void lostWhileIdle() {
    Runnable r = onIdleLoss;
    onIdleLoss = null;
    if (r != null) {
      r.run();
    }
  }

  /**
   * Up to this many bytes the codec produced in one call go to the stream as one write (one
   * copy): a chunk of a chunked request is three buffers (size line, data, CRLF), which were
   * three stream writes and three DATA frames. Larger output is written piece by piece.
   */
  static final int COALESCE_BYTES = 8 * 1024;

  private void drainOutbound() {
    Object first = channel.readOutbound();
    if (first == null) {
      return;
    }
    Object next = channel.readOutbound();
    if (next == null) {
      writeOut(first);
      return;
    }
    java.util.List<Object> out = new java.util.ArrayList<>(4);
    out.add(first);
    for (Object o = next; o != null; o = channel.readOutbound()) {
      out.add(o);
    }
    int total = 0;
    for (Object o : out) {
      total += o instanceof ByteBuf bb ? bb.readableBytes() : 0;
    }
    if (total > COALESCE_BYTES || closed) {
      out.forEach(this::writeOut);
      return;
    }
    ByteBuf joined = Unpooled.buffer(total); // unpooled heap, as safeBuffer makes
    for (Object o : out) {
      if (o instanceof ByteBuf bb) {
        joined.writeBytes(bb, bb.readerIndex(), bb.readableBytes());
      }
      ReferenceCountUtil.release(o);
    }
    if (joined.isReadable()) {
      stream.write(BufferInternal.buffer(joined));
    }
  }

  private void writeOut(Object o) {
    if (o instanceof ByteBuf bb && bb.isReadable() && !closed) {
      stream.write(BufferInternal.safeBuffer(bb));
    } else {
      ReferenceCountUtil.release(o);
    }
  }

  private void releaseChannel() {
    try {
      channel.finishAndReleaseAll();
    } catch (Exception e) { // the embedded channel rethrows recorded (also checked) exceptions
      LOG.debug("app connection {}: releasing the codec: {}", id, e.toString());
    }
  }

  private void logClosed(String how) {
    Instant ended = Instant.now();
    String reason = closeReason != null ? closeReason : how;
    LOG.atInfo().setMessage("stream closed").addKeyValue("stream_id", id)
        .addKeyValue("kind", "app").addKeyValue("user", user(target))
        .addKeyValue("workspace", target.workspace()).addKeyValue("agent", target.agent())
        .addKeyValue("app", target.app()).addKeyValue("port", target.port())
        .addKeyValue("remote", target.clientAddress())
        .addKeyValue("tunnel_id", tunnelId).addKeyValue("requests", exchanges)
        .addKeyValue("bytes_in", stream.bytesOut()).addKeyValue("bytes_out", stream.bytesIn())
        .addKeyValue("duration_ms", Duration.between(started, ended).toMillis())
        .addKeyValue("reason", reason).log();
    if (record != null) {
      record.ended(ended, stream.bytesOut(), stream.bytesIn(), reason);
    }
  }

  /** The connection-log record of an established app connection (docs/api.md "Connection"). */
  private static JsonObject record(AppTarget target, Instant started, String via) {
    JsonObject record = new JsonObject()
        .put("username", user(target))
        .put("workspace", target.workspace())
        .put("agent", target.agent())
        .put("port", target.port())
        .put("app", target.app())
        .put("clientAddress", target.clientAddress())
        .put("startedAt", started.toString());
    if (via != null) {
      record.put("via", via);
    }
    return record;
  }

  /** The user for logs and the connection log ({@code anonymous} on a public share). */
  static String user(AppTarget t) {
    return t.username() != null ? t.username() : "anonymous";
  }

  /** The end of the pipeline: hands everything to the current exchange. */
  private final class Tail extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Listener l = listener;
      if (l != null && !closed) {
        l.onMessage(msg);
        return;
      }
      ReferenceCountUtil.release(msg);
      if (!closed) {
        close("the app sent data on an idle connection");
        lostWhileIdle();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof SslHandshakeCompletionEvent hs && !hs.isSuccess()) {
        fail(hs.cause(), true);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(cause, cause instanceof SSLException
          || cause.getCause() instanceof SSLException);
    }
  }

  private static SslContext insecureTls() {
    try {
      return SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
          .trustManager(InsecureTrustManagerFactory.INSTANCE).build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot build the TLS client context for https apps", e);
    }
  }
}
