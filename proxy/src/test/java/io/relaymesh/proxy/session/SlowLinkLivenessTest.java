package io.relaymesh.proxy.session;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.on;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Streams;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The dead-peer rule on a slow saturated link (docs/protocol.md §7): a bulk download over a link
 * that carries 1 MiB/s with 2 MiB in its buffers (the dead-peer timeout scaled down to 0.5 s:
 * like MBs in the socket buffers of a ~1 Mbit/s line with the 45 s default) answers PINGs ~2 s
 * late, four times the dead-peer timeout, yet the peer reads steadily: both sessions stay up. A
 * peer that stops reading altogether is still declared dead.
 */
@Timeout(60)
class SlowLinkLivenessTest {
  static final Duration DEAD_PEER = Duration.ofMillis(500);
  /** Windows large enough that the link's buffers, not flow control, hold the download back. */
  static final TunnelConfig CFG = TunnelConfig.defaults().withWindows(8 << 20, 16 << 20)
      .withTimeouts(Duration.ofSeconds(10), Duration.ZERO, Duration.ofMillis(100), DEAD_PEER);
  static final int RATE = 1 << 20;
  static final int BUFFERED = 2 << 20;
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @Test
  void slowButReadingPeerStaysUpThoughItsPongsComeLate() throws Exception {
    Link link = Link.create(vertx, CFG);
    try {
      Session[] s = link.sessions();
      AtomicLong got = new AtomicLong();
      s[1].openHandler(st -> st.accept().onSuccess(x -> Streams.generate(x, Buffer.buffer(new byte[16 * 1024]),
          Long.MAX_VALUE)));
      await(on(link.ctx, () -> s[0].open(WireSpec.KIND_TCP, "bulk", null)
          .onSuccess(st -> st.handler(b -> got.addAndGet(b.length())))));
      Thread.sleep(8 * DEAD_PEER.toMillis()); // bounded: 4 s of download
      assertThat(s[1].isClosed()).as("server session (sending the download) closed").isFalse();
      assertThat(s[0].isClosed()).as("client session (reading the download) closed").isFalse();
      assertThat(got.get()).as("bytes downloaded in 4 s").isGreaterThan(2L * RATE);
      // the scenario is real: PINGs were answered later than the dead-peer timeout
      assertThat(Duration.ofNanos(s[1].lastRttNanos())).as("server's last PING round trip")
          .isGreaterThan(DEAD_PEER);
    } finally {
      link.close();
    }
  }

  @Test
  void peerThatStopsReadingIsStillDead() throws Exception {
    // the client's own dead-peer timeout is long: it must not be the one ending the session
      Link link = Link.create(vertx, CFG.withTimeouts(Duration.ofSeconds(10), Duration.ZERO,
          Duration.ofMillis(100), Duration.ofSeconds(30)));
    try {
      Session[] s = link.sessions();
      s[1].openHandler(st -> st.accept().onSuccess(x -> {
        x.exceptionHandler(e -> link.deadPeerWhy = String.valueOf(e.getMessage()));
        Streams.generate(x, Buffer.buffer(new byte[16 * 1024]), Long.MAX_VALUE);
      }));
      Stream up = await(on(link.ctx, () -> s[0].open(WireSpec.KIND_TCP, "bulk", null)));
      Thread.sleep(2 * DEAD_PEER.toMillis());
      // the client stops reading and keeps sending (stream data every 50 ms), so "nothing
      // received" never fires: only its unanswered PINGs, with the server's queue stuck, tell
      link.toClient.rate = 0;
      long sender = vertx.setPeriodic(50, id -> link.ctx.runOnContext(v -> up.write(Buffer.buffer(new byte[512]))));
      try {
        await(s[1].closeFuture().transform(ar -> Future.succeededFuture()), 10);
      } finally {
        vertx.cancelTimer(sender);
      }
      assertThat(link.serverMetrics.refusals()).containsKey(Refusals.DEAD_PEER);
      assertThat(link.deadPeerWhy).as("why the server's stream was reset").contains("no PONG");
    } finally {
      link.close();
    }
  }

  /** Two sessions joined by two {@link Half}s, one per direction. */
  static final class Link {
    final Context ctx;
    final Half toServer;
    final Half toClient;
    final long timer;
    final CountingSessionMetrics serverMetrics = new CountingSessionMetrics();
    volatile String deadPeerWhy = "";
    Session client;
    Session server;

    private Link(Context ctx, int bytesPerSecond, int buffered) {
      this.ctx = ctx;
      toServer = new Half(bytesPerSecond, buffered);
      toClient = new Half(bytesPerSecond, buffered);
      toServer.peer = toClient;
      toClient.peer = toServer;
      timer = ctx.owner().setPeriodic(20, id -> ctx.runOnContext(v -> {
        toServer.tick(20);
        toClient.tick(20);
      }));
    }

    static Link create(Vertx vertx, TunnelConfig clientConfig) {
      Context ctx = vertx.getOrCreateContext();
      Link l = new Link(ctx, RATE, BUFFERED);
      await(on(ctx, () -> {
        l.server = Session.create(ctx, l.toClient, Role.SERVER, CFG, l.serverMetrics);
        l.client = Session.create(ctx, l.toServer, Role.CLIENT, clientConfig, new CountingSessionMetrics());
        return Future.succeededFuture();
      }));
      await(l.client.ready());
      await(l.server.ready());
      return l;
    }

    Session[] sessions() {
      return new Session[] {client, server};
    }

    void close() {
      ctx.owner().cancelTimer(timer);
      await(on(ctx, () -> {
        toServer.close(1000, "test done");
        return Future.succeededFuture();
      }));
    }
  }

  /**
   * One direction of a slow link, as seen by the side that sends into it: a FIFO that delivers
   * {@code rate} bytes per second (whole messages) to the other side; its write queue is full
   * above {@code buffered} bytes and drains below {@code buffered - 256 KiB} (like Netty's
   * high/low water marks).
   */
  static final class Half implements TunnelTransport {
    final int buffered;
    volatile int rate;
    Half peer;
    final ArrayDeque<Buffer> queue = new ArrayDeque<>();
    long inQueue;
    double credit;
    boolean needDrain;
    boolean closed;
    Handler<Buffer> messageHandler;
    Handler<Void> drainHandler;
    Handler<Void> closeHandler;

    Half(int rate, int buffered) {
      this.rate = rate;
      this.buffered = buffered;
    }

    void tick(long millis) {
      credit = Math.min(credit + rate * millis / 1000.0, buffered);
      while (!closed && !queue.isEmpty() && queue.peek().length() <= credit) {
        Buffer m = queue.poll();
        credit -= m.length();
        inQueue -= m.length();
        if (peer.messageHandler != null && !peer.closed) {
          peer.messageHandler.handle(m);
        }
      }
      if (needDrain && inQueue <= buffered - 256 * 1024 && drainHandler != null) {
        needDrain = false;
        drainHandler.handle(null);
      }
    }

    @Override
    public void send(Buffer message) {
      if (!closed) {
        queue.add(message);
        inQueue += message.length();
      }
    }

    @Override
    public boolean writeQueueFull() {
      if (inQueue > buffered) {
        needDrain = true;
        return true;
      }
      return false;
    }

    @Override
    public void drainHandler(Handler<Void> handler) {
      drainHandler = handler;
    }

    @Override
    public void messageHandler(Handler<Buffer> handler) {
      messageHandler = handler;
    }

    @Override
    public void closeHandler(Handler<Void> handler) {
      closeHandler = handler;
    }

    @Override
    public void close(int status, String reason) {
      closeLocal();
      peer.closeLocal();
    }

    private void closeLocal() {
      if (!closed) {
        closed = true;
        if (closeHandler != null) {
          closeHandler.handle(null);
        }
      }
    }
  }
}
