package io.relaymesh.proxy.session.impl;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.proxy.testutil.FakePeer;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Receive-window auto-tuning, with the session's clock under test control (no timing). */
@Timeout(30)
class WindowAutoTuneTest {
  static Vertx vertx;
  static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    Await.await(vertx.close());
  }

  private static FakePeer connectWithRtt(TunnelConfig cfg, AtomicLong now, long rtt) {
    FakePeer p = new FakePeer(vertx, cfg, s -> s.accept().onSuccess(st -> st.handler(b -> { })),
        now::get).handshake(65536);
    long opaque = Long.parseLong(p.awaitFrame("PING").substring(5));
    now.addAndGet(rtt);
    p.send(b -> FrameWriter.pong(b, opaque));
    Await.until(p.ctx, () -> p.session.smoothedRttNanos() == rtt);
    p.send(b -> FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null));
    p.awaitFrame("OPEN_OK 1");
    return p;
  }

  private static String lastUpdate(FakePeer p, int count) {
    try {
      Await.until(p.ctx, () -> p.receivedOnContext().stream()
          .filter(e -> e.startsWith("WINDOW_UPDATE 1 ")).count() >= count);
    } catch (AssertionError e) {
      throw new AssertionError("expected " + count + " updates, got " + p.received(), e);
    }
    Await.until(p.ctx, () -> p.receivedOnContext().stream()
        .filter(e -> e.startsWith("WINDOW_UPDATE 1 ")).count() == count);
    return p.received().stream().filter(e -> e.startsWith("WINDOW_UPDATE 1 "))
        .reduce((a, b) -> b).orElseThrow();
  }

  @Test
  void windowDoublesWhenConsumedFasterThanTheRttAndStaysWhenSlow() {
    AtomicLong now = new AtomicLong(1_000_000 * MS);
    TunnelConfig cfg = TunnelConfig.defaults().withWindows(65536, 262144);
    FakePeer p = connectWithRtt(cfg, now, 100 * MS);
    long committedBefore = p.session.committedReceiveBytes();

    // half a window consumed "instantly" (< 1 RTT): credit returned plus the window doubled
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[32768])));
    assertThat(lastUpdate(p, 1)).isEqualTo("WINDOW_UPDATE 1 " + (32768 + 65536));
    assertThat(p.session.committedReceiveBytes()).isEqualTo(committedBefore + 65536);

    // the next half window (65536 of 131072) takes 1 s >> RTT: no growth
    now.addAndGet(1000 * MS);
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[65536])));
    assertThat(lastUpdate(p, 2)).isEqualTo("WINDOW_UPDATE 1 65536");

    // fast again: doubles to the cap (262144)
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[65536])));
    assertThat(lastUpdate(p, 3)).isEqualTo("WINDOW_UPDATE 1 " + (65536 + 131072));

    // at the cap: no more growth however fast
    p.send(b -> {
      FrameWriter.data(b, 1, Buffer.buffer(new byte[65536]));
      FrameWriter.data(b, 1, Buffer.buffer(new byte[65536]));
    });
    assertThat(lastUpdate(p, 4)).isEqualTo("WINDOW_UPDATE 1 131072");
    assertThat(p.session.committedReceiveBytes()).isEqualTo(committedBefore + 262144 - 65536);
  }

  @Test
  void growthStopsAtThreeQuartersOfTheSessionBudget() {
    AtomicLong now = new AtomicLong(1_000_000 * MS);
    TunnelConfig cfg = TunnelConfig.defaults().withWindows(65536, 1 << 20)
        .withBuffers(1 << 20, 4 * 65536, 65536);
    FakePeer p = connectWithRtt(cfg, now, 100 * MS);
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[32768])));
    assertThat(lastUpdate(p, 1)).isEqualTo("WINDOW_UPDATE 1 " + (32768 + 65536)); // 128 KiB
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[65536])));
    // doubling to 256 KiB would exceed 3/4 of the 256 KiB budget: credit only
    assertThat(lastUpdate(p, 2)).isEqualTo("WINDOW_UPDATE 1 65536");
    assertThat(p.session.committedReceiveBytes()).isEqualTo(131072);
  }

  @Test
  void noGrowthWithoutAnRttSample() {
    AtomicLong now = new AtomicLong(1_000_000 * MS);
    FakePeer p = new FakePeer(vertx, TunnelConfig.defaults().withWindows(65536, 1 << 20),
        s -> s.accept().onSuccess(st -> st.handler(b -> { })), now::get).handshake(65536);
    p.send(b -> FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null));
    p.awaitFrame("OPEN_OK 1");
    p.send(b -> FrameWriter.data(b, 1, Buffer.buffer(new byte[32768])));
    assertThat(lastUpdate(p, 1)).isEqualTo("WINDOW_UPDATE 1 32768");
  }
}
