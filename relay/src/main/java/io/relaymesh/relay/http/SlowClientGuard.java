package io.relaymesh.relay.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.relaymesh.config.ListenerConfig;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts HTTP/1.x clients that are too slow to be anything but an attack or a dead peer
 * (slowloris): a request head (request line and headers, also a WebSocket upgrade) must be
 * complete {@code head-timeout} after its first byte, a request body may not stall for
 * {@code body-idle-timeout} nor average less than {@code body-min-rate} after that grace, and a
 * connection with no request in progress is closed after {@code keepalive-timeout}. A cut
 * answers {@code 408} with the relay's JSON error and {@code Connection: close} when no answer
 * began yet, else just closes; the HTTP layer then sees the connection close (an app request's
 * tunnel stream is reset by its exchange). Each cut is counted by reason: {@code head-timeout},
 * {@code body-timeout}, {@code body-rate}, {@code keepalive-timeout}.
 *
 * <p>Only time during which the relay wants to read counts for a body: while the HTTP layer
 * paused the connection (back-pressure: auto-read off) or a client waits for its
 * {@code 100 Continue}, the clocks stand still; once the answer to the request whose body is
 * being read has begun (full-duplex: a streamed answer to a streamed upload such as log shipping
 * or {@code curl -T -}), they stop for the rest of that body: the app is answering, the client is
 * no slowloris. {@code body-idle-timeout} 0 turns off the idle clock, {@code body-min-rate} 0
 * the rate clock. After a {@code 101 Switching Protocols}
 * (WebSocket) the guard removes itself: tunnels have their own keepalive and dead-peer timeout.
 *
 * <p>Installed by {@link #install} between the HTTP codec and Vert.x's handler (it sees decoded
 * requests and the responses before encoding), plus a one-line sniffer in front of the decoder
 * that notices the first raw byte of a head.
 *
 * <p>Threading: event-loop only (the channel's).
 */
public final class SlowClientGuard extends ChannelDuplexHandler {

  private static final Logger LOG = LoggerFactory.getLogger(SlowClientGuard.class);
  static final String NAME = "relaymesh-slow-client-guard";
  static final String SNIFFER = "relaymesh-slow-client-sniffer";

  private enum State { IDLE, HEAD, BODY, RESPONDING, DONE }

  private final long headNanos;
  private final long keepaliveNanos;
  private final long bodyIdleNanos;
  private final long bodyMinRate;
  private final long rateGraceNanos; // reading time before body-min-rate applies
  private final long tickNanos;
  private final Consumer<String> refused;

  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private int inFlight; // request heads received whose response did not end yet
  private boolean responseStarted;
  private boolean bodyOpen; // a request body is being read
  private boolean bodyAnswered; // the answer to the request whose body is read has begun
  private boolean awaitingContinue; // Expect: 100-continue, no 100 sent, no body byte seen
  private long deadline; // IDLE/HEAD: nanoTime at which the wait ends
  private long lastTick;
  private long bodyActive; // nanos of body reading time (auto-read on)
  private long bodyIdle; // nanos of reading time since the last body byte
  private long bodyBytes;
  private ScheduledFuture<?> timer;

  private SlowClientGuard(ListenerConfig limits, Consumer<String> refused) {
    this.headNanos = limits.headTimeout().toNanos();
    this.keepaliveNanos = limits.keepaliveTimeout().toNanos();
    this.bodyIdleNanos = limits.bodyIdleTimeout().toNanos();
    this.bodyMinRate = limits.bodyMinRate();
    this.rateGraceNanos = bodyIdleNanos > 0 ? bodyIdleNanos
        : ListenerConfig.DEFAULT_BODY_IDLE_TIMEOUT.toNanos(); // idle clock off: default grace
    long shortest = Math.min(headNanos, keepaliveNanos);
    if (bodyIdleNanos > 0) {
      shortest = Math.min(shortest, bodyIdleNanos);
    }
    this.tickNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(20),
        Math.min(TimeUnit.SECONDS.toNanos(1), shortest / 4));
    this.refused = refused;
  }

  /**
   * Installs the guard on an HTTP/1.x server channel whose pipeline has Vert.x's
   * {@code httpDecoder} and {@code handler}; does nothing for other pipelines (HTTP/2). Call on
   * the channel's event loop before it reads a request (the server's connection handler).
   *
   * @param refused counts a cut by reason
   * @return whether it was installed
   */
  public static boolean install(Channel channel, ListenerConfig limits, Consumer<String> refused) {
    ChannelPipeline p = channel.pipeline();
    if (p.get("httpDecoder") == null || p.get("handler") == null || p.get(NAME) != null) {
      return false;
    }
    SlowClientGuard guard = new SlowClientGuard(limits, refused);
    p.addBefore("handler", NAME, guard);
    p.addBefore("httpDecoder", SNIFFER, guard.new Sniffer());
    return true;
  }

  /** Notices raw bytes: the first byte of a head starts its clock. */
  private final class Sniffer extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
      if (state == State.IDLE && msg instanceof ByteBuf b && b.isReadable()) {
        state = State.HEAD;
        deadline = System.nanoTime() + headNanos;
      }
      c.fireChannelRead(msg);
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    deadline = System.nanoTime() + keepaliveNanos;
    lastTick = System.nanoTime();
    schedule();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    stop();
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (state != State.DONE) {
      if (msg instanceof HttpRequest r) {
        inFlight++;
        bodyOpen = true;
        bodyAnswered = false;
        awaitingContinue = HttpUtil.is100ContinueExpected(r);
        bodyActive = 0;
        bodyIdle = 0;
        bodyBytes = 0;
        state = State.BODY;
      }
      if (msg instanceof HttpContent c && bodyOpen) {
        int n = c.content().readableBytes();
        if (n > 0) {
          bodyBytes += n;
          bodyIdle = 0;
          awaitingContinue = false;
        }
        if (msg instanceof LastHttpContent) {
          bodyOpen = false;
          state = inFlight > 0 ? State.RESPONDING : idle();
        }
      }
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
      throws Exception {
    if (state != State.DONE) {
      if (msg instanceof HttpResponse r) {
        int code = r.status().code();
        if (code == 101) {
          state = State.DONE;
          ctx.write(msg, promise);
          ctx.pipeline().remove(this); // a WebSocket now: the tunnel guards itself
          ctx.pipeline().remove(SNIFFER);
          return;
        }
        if (code >= 100 && code < 200) {
          awaitingContinue = false; // 100 Continue: the body may come now
          ctx.write(msg, promise);
          return;
        }
        responseStarted = true;
        if (bodyOpen && inFlight == 1) {
          bodyAnswered = true; // (inFlight > 1: an earlier pipelined request is answered)
        }
      }
      if (msg instanceof LastHttpContent && responseStarted) {
        responseStarted = false;
        inFlight = Math.max(0, inFlight - 1);
        if (inFlight == 0 && !bodyOpen) {
          state = idle();
        }
      }
    }
    ctx.write(msg, promise);
  }

  private State idle() {
    deadline = System.nanoTime() + keepaliveNanos;
    return State.IDLE;
  }

  private void schedule() {
    timer = ctx.executor().schedule(this::tick, tickNanos, TimeUnit.NANOSECONDS);
  }

  private void stop() {
    state = State.DONE;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void tick() {
    if (state == State.DONE || !ctx.channel().isActive()) {
      return;
    }
    long now = System.nanoTime();
    long elapsed = now - lastTick;
    lastTick = now;
    switch (state) {
      case IDLE -> {
        if (now - deadline >= 0) {
          cut("keepalive-timeout", false, "connection idle");
          return;
        }
      }
      case HEAD -> {
        if (now - deadline >= 0) {
          cut("head-timeout", true, "request head not complete within the relay's head timeout ("
              + TimeUnit.NANOSECONDS.toMillis(headNanos) + " ms)");
          return;
        }
      }
      case BODY -> {
        if (bodyOpen && !bodyAnswered && !awaitingContinue
            && ctx.channel().config().isAutoRead()) {
          bodyActive += elapsed;
          bodyIdle += elapsed;
          if (bodyIdleNanos > 0 && bodyIdle >= bodyIdleNanos) {
            cut("body-timeout", true, "request body sent nothing for "
                + TimeUnit.NANOSECONDS.toMillis(bodyIdle) + " ms");
            return;
          }
          if (bodyMinRate > 0 && bodyActive
              > rateGraceNanos + bodyBytes * 1_000_000_000L / bodyMinRate) {
            cut("body-rate", true, "request body slower than " + bodyMinRate
                + " bytes/s (" + bodyBytes + " bytes in "
                + TimeUnit.NANOSECONDS.toMillis(bodyActive) + " ms)");
            return;
          }
        }
      }
      default -> { }
    }
    schedule();
  }

  /** Closes the connection, with a 408 first when {@code answer} and no answer began. */
  private void cut(String reason, boolean answer, String why) {
    State was = state;
    stop();
    refused.accept(reason);
    LOG.debug("relay listener: closing connection from {} ({}): {}", ctx.channel().remoteAddress(),
        reason, why);
    if (answer && !responseStarted && (was == State.HEAD || inFlight <= 1)) {
      byte[] body = new JsonObject().put("code", "request_timeout").put("message", why).encode()
          .getBytes(StandardCharsets.UTF_8);
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.REQUEST_TIMEOUT, Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
          .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
          .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }
}
