package io.relaymesh.proxy.session;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.on;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Streams;
import io.relaymesh.proxy.transport.ForwardingTransport;
import io.relaymesh.proxy.transport.PipeTransport;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every message fits in one WebSocket frame of 65,536 bytes (Vert.x's default maximum frame
 * size and the relay's): a longer one is split into frames that the receiving Vert.x copies back
 * together, a copy of every bulk byte.
 */
@Timeout(60)
class MessageSizeTest {
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  /** Passes everything through and remembers the largest message sent. */
  static final class Recording extends ForwardingTransport {
    final AtomicInteger largest = new AtomicInteger();
    final AtomicLong messages = new AtomicLong();

    Recording(TunnelTransport inner) {
      super(inner);
    }

    @Override
    public void send(Buffer message) {
      largest.accumulateAndGet(message.length(), Math::max);
      messages.incrementAndGet();
      delegate.send(message);
    }
  }

  @Test
  void bulkAndSmallWritesOfManyStreamsNeverMakeAMessageLongerThanOneWebSocketFrame() {
    TunnelConfig cfg = TunnelConfig.defaults();
    Context ctx = vertx.getOrCreateContext();
    Recording[] rec = new Recording[2];
    Session[] s = await(on(ctx, () -> {
      PipeTransport[] p = PipeTransport.pair(ctx, 1024 * 1024);
      rec[0] = new Recording(p[0]);
      rec[1] = new Recording(p[1]);
      Session server = Session.create(ctx, rec[1], Role.SERVER, cfg, new CountingSessionMetrics());
      server.openHandler(Streams.echo());
      Session client = Session.create(ctx, rec[0], Role.CLIENT, cfg, new CountingSessionMetrics());
      return Future.succeededFuture(new Session[] {client, server});
    }));
    await(s[0].ready());
    await(s[1].ready());
    // bulk writes of odd sizes on 4 streams at once, plus a stream of tiny writes
    java.util.List<Future<Buffer>> echoes = new java.util.ArrayList<>();
    java.util.List<Buffer> sent = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Buffer data = Streams.random(i, 2 * 1024 * 1024 + 4099 * i + 1);
      sent.add(data);
      echoes.add(Streams.exchange(s[0], data));
    }
    Buffer small = Buffer.buffer();
    for (int i = 0; i < 2000; i++) {
      small.appendString("m" + i + ";");
    }
    sent.add(small);
    echoes.add(Streams.exchange(s[0], small));
    for (int i = 0; i < sent.size(); i++) {
      assertThat(await(echoes.get(i)).getBytes()).isEqualTo(sent.get(i).getBytes());
    }
    assertThat(rec[0].messages.get()).isGreaterThan(100);
    assertThat(rec[0].largest.get()).isLessThanOrEqualTo(65_536).isGreaterThan(60_000);
    assertThat(rec[1].largest.get()).isLessThanOrEqualTo(65_536).isGreaterThan(60_000);
    await(on(ctx, () -> s[0].close(io.relaymesh.proxy.wire.ErrorCode.NO_ERROR, "done")));
  }
}
