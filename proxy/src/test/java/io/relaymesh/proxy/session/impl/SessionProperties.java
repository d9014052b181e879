package io.relaymesh.proxy.session.impl;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.proxy.testutil.FakePeer;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * A scripted peer sends random (often invalid) frame sequences to a real session. Whatever it
 * sends: no exception escapes, the session never fails internally, and the memory and
 * flow-control invariants hold after every message.
 */
class SessionProperties {
  static Vertx vertx;
  static final List<Throwable> unhandled = Collections.synchronizedList(new ArrayList<>());
  static final TunnelConfig CFG = TunnelConfig.defaults()
      .withWindows(8192, 32768)
      .withMaxConcurrentStreams(4)
      .withBuffers(64 * 1024, 64 * 1024, 16 * 1024);

  /** One peer action. */
  record Op(int kind, int id, int size, long value) {}

  @BeforeContainer
  static void start() {
    vertx = Vertx.vertx();
    vertx.exceptionHandler(unhandled::add);
  }

  @AfterContainer
  static void stop() {
    await(vertx.close());
  }

  @Property(tries = 200)
  void randomPeerInputKeepsInvariants(@ForAll("ops") List<Op> ops) {
    unhandled.clear();
    FakePeer p = new FakePeer(vertx, CFG, s -> {
      if (s.id() % 4 == 1) {
        s.pause(); // a reader that never reads
        s.accept();
      } else if (s.id() % 4 == 3) {
        s.accept().onSuccess(st -> {
          st.handler(b -> st.write(b.copy())); // echo
          st.endHandler(v -> st.end());
          st.exceptionHandler(e -> { });
        });
      } else {
        s.reject(ErrorCode.NOT_FOUND, "no");
      }
    });
    p.send(b -> FrameWriter.settings(b, new Settings(4096, 65536, 8, 16384)));
    int[] nextOpen = {1};
    for (Op op : ops) {
      p.send(b -> encode(b, op, nextOpen));
      checkInvariants(p);
    }
    Statistics.collect(p.isClosed() ? "closed by a connection error" : "still open");
    assertThat(unhandled).isEmpty();
    assertThat(p.metrics.refusals(Refusals.INTERNAL)).isZero();
    assertThat(p.decodeErrors()).isEmpty(); // the session's own output is always well-formed
    p.session.close(ErrorCode.NO_ERROR, "done");
    await(p.session.closeFuture());
  }

  private static void checkInvariants(FakePeer p) {
    await(Await.on(p.ctx, () -> {
      SessionImpl s = (SessionImpl) p.session;
      long committed = 0;
      for (Stream st : s.streams()) {
        StreamImpl si = (StreamImpl) st;
        assertThat(si.rx.credit()).as("credit of %s", si).isGreaterThanOrEqualTo(0);
        assertThat(si.rx.credit() + si.inBytes() + si.rx.unacked()).as("window of %s", si)
            .isEqualTo(si.rx.window());
        assertThat(si.rx.window()).isLessThanOrEqualTo(CFG.maxStreamWindow());
        assertThat(si.tx.queuedBytes()).isLessThanOrEqualTo(CFG.maxBufferedPerStream());
        assertThat(si.tx.credit()).isLessThanOrEqualTo(0x7FFF_FFFFL);
        committed += si.rx.window();
      }
      assertThat(s.committedReceiveBytes()).isEqualTo(committed);
      assertThat(committed).isLessThanOrEqualTo(CFG.maxBufferedPerSession());
      assertThat(s.streams().stream().filter(x -> !x.isLocal()).count())
          .isLessThanOrEqualTo(CFG.maxConcurrentStreams());
      assertThat(s.out().queuedControlBytes()).isLessThanOrEqualTo(Outbound.MAX_CONTROL_BYTES);
      return Future.succeededFuture();
    }));
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    return Combinators.combine(
            Arbitraries.integers().between(0, 12),
            Arbitraries.integers().between(1, 12),
            Arbitraries.integers().between(0, 9000),
            Arbitraries.longs())
        .as(Op::new).list().ofMaxSize(30);
  }

  /**
   * Mostly valid traffic (opens with increasing odd ids, frames for opened ids) with a share of
   * protocol violations (odd {@code value}s pick a random id, junk bytes, misplaced frames).
   */
  private static void encode(Buffer b, Op op, int[] nextOpen) {
    boolean wild = (op.value() & 7) == 0;
    int id = wild || nextOpen[0] == 1 ? op.id() : 1 + 2 * (op.id() % (nextOpen[0] / 2));
    switch (op.kind()) {
      case 0:
      case 1:
        int openId = wild ? op.id() : nextOpen[0];
        nextOpen[0] = Math.max(nextOpen[0], openId + 2);
        FrameWriter.open(b, openId, 1, "127.0.0.1:" + op.size(), Buffer.buffer("{}"));
        break;
      case 2:
      case 3:
        FrameWriter.data(b, id, Buffer.buffer(new byte[op.size()]));
        break;
      case 4:
        FrameWriter.windowUpdate(b, id, (op.value() & 0x7FFF_FFFFL) | 1);
        break;
      case 5:
        FrameWriter.fin(b, id);
        break;
      case 6:
        FrameWriter.reset(b, id, op.value() & 0xFF, "r");
        break;
      case 7:
        FrameWriter.ping(b, op.value());
        break;
      case 8:
        FrameWriter.pong(b, op.value());
        break;
      case 9:
        FrameWriter.header(b, 0x30 + (op.size() & 0xF), 0, id, op.size() % 100)
            .appendBytes(new byte[op.size() % 100]);
        break;
      case 10:
        FrameWriter.openOk(b, id);
        break;
      case 11:
        FrameWriter.goAway(b, id, op.value() & 0xF, "g");
        break;
      default: {
        if (!wild) {
          FrameWriter.data(b, id, Buffer.buffer(new byte[op.size() % 100]));
          break;
        }
        byte[] junk = new byte[op.size() % 40];
        new java.util.Random(op.value()).nextBytes(junk);
        b.appendBytes(junk);
      }
    }
  }
}
