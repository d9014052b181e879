package io.relaymesh.relay.http;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.relaymesh.config.ListenerConfig;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/2 side of {@link SlowClientGuard}: a connection must open its first stream (a
 * complete request head: HTTP/2 streams open once their HEADERS and CONTINUATION frames are all
 * in) within {@code head-timeout}, and is closed (GOAWAY) after {@code keepalive-timeout} without
 * an open stream. Counted as {@code head-timeout} and {@code keepalive-timeout}. Per-stream body
 * progress is bounded by HTTP/2 flow control and the stream limit, not timed here.
 *
 * <p>Threading: event-loop only (the channel's).
 */
public final class Http2IdleGuard extends Http2ConnectionAdapter {

  private static final Logger LOG = LoggerFactory.getLogger(Http2IdleGuard.class);

  private final Channel channel;
  private final Http2Connection connection;
  private final long headNanos;
  private final long keepaliveNanos;
  private final Consumer<String> refused;
  private boolean everOpened;
  private long idleSince = System.nanoTime();
  private ScheduledFuture<?> timer;

  private Http2IdleGuard(Channel channel, Http2Connection connection, ListenerConfig limits,
      Consumer<String> refused) {
    this.channel = channel;
    this.connection = connection;
    this.headNanos = limits.headTimeout().toNanos();
    this.keepaliveNanos = limits.keepaliveTimeout().toNanos();
    this.refused = refused;
  }

  /**
   * Installs the guard on an HTTP/2 server channel (Vert.x's {@code handler} is an
   * {@link Http2ConnectionHandler}); does nothing for other pipelines. Call on the channel's
   * event loop (the server's connection handler).
   *
   * @return whether it was installed
   */
  public static boolean install(Channel channel, ListenerConfig limits, Consumer<String> refused) {
    if (!(channel.pipeline().get("handler") instanceof Http2ConnectionHandler h)) {
      return false;
    }
    Http2IdleGuard guard = new Http2IdleGuard(channel, h.connection(), limits, refused);
    h.connection().addListener(guard);
    long tick = Math.max(TimeUnit.MILLISECONDS.toNanos(20), Math.min(TimeUnit.SECONDS.toNanos(1),
        Math.min(guard.headNanos, guard.keepaliveNanos) / 4));
    guard.timer = channel.eventLoop().scheduleAtFixedRate(guard::tick, tick, tick,
        TimeUnit.NANOSECONDS);
    channel.closeFuture().addListener(f -> guard.timer.cancel(false));
    return true;
  }

  @Override
  public void onStreamActive(Http2Stream stream) {
    everOpened = true;
  }

  @Override
  public void onStreamClosed(Http2Stream stream) {
    idleSince = System.nanoTime();
  }

  private void tick() {
    if (!channel.isActive()) {
      timer.cancel(false);
      return;
    }
    if (connection.numActiveStreams() > 0) {
      return;
    }
    long idle = System.nanoTime() - idleSince;
    String reason = everOpened ? "keepalive-timeout" : "head-timeout";
    if (idle >= (everOpened ? keepaliveNanos : headNanos)) {
      timer.cancel(false);
      refused.accept(reason);
      LOG.debug("relay listener: closing HTTP/2 connection from {} ({}): no open stream for {} ms",
          channel.remoteAddress(), reason, TimeUnit.NANOSECONDS.toMillis(idle));
      channel.close(); // Http2ConnectionHandler sends GOAWAY first
    }
  }
}
