package io.relaymesh.proxy.session;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static io.relaymesh.proxy.testutil.Await.on;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Streams;
import io.relaymesh.proxy.testutil.Tunnels;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Session semantics over an in-memory transport (fast, deterministic ordering). */
@Timeout(60)
class PipeSessionTest {
  static Vertx vertx;
  static final TunnelConfig CFG = TunnelConfig.defaults();

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @Test
  void echoesBytesExactly() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, Streams.echo())) {
      Buffer data = Streams.random(1, 3 * 1024 * 1024 + 17);
      Buffer back = await(Streams.exchange(t.client, data));
      assertThat(back.getBytes()).isEqualTo(data.getBytes());
      assertThat(t.clientMetrics.bytesOut()).isEqualTo(data.length());
      assertThat(t.serverMetrics.bytesIn()).isEqualTo(data.length());
    }
  }

  @Test
  void bothSidesOpenStreamsWithTheirParity() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, Streams.echo())) {
      t.client.openHandler(Streams.echo());
      Stream a = await(on(t.client.context(), () -> t.client.open(WireSpec.KIND_TCP, "x", null)));
      Stream b = await(on(t.server.context(), () -> t.server.open(WireSpec.KIND_SSH, "y", null)));
      Stream c = await(on(t.client.context(), () -> t.client.open(WireSpec.KIND_TCP, "x", null)));
      assertThat(List.of(a.id(), b.id(), c.id())).containsExactly(1, 2, 3);
      assertThat(await(Streams.exchange(t.server, Buffer.buffer("from relay"))).toString())
          .isEqualTo("from relay");
    }
  }

  @Test
  void halfCloseEachDirectionIndependently() throws Exception {
    Promise<String> serverSaw = Promise.promise();
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, s -> s.accept().onSuccess(st -> {
      Buffer got = Buffer.buffer();
      st.handler(got::appendBuffer);
      st.endHandler(v -> {
        // client finished sending; this direction is still open
        serverSaw.complete(got.toString());
        st.write(Buffer.buffer("reply after your FIN"));
        st.end();
      });
    }))) {
      Buffer reply = await(Streams.exchange(t.client, Buffer.buffer("request")));
      assertThat(await(serverSaw.future())).isEqualTo("request");
      assertThat(reply.toString()).isEqualTo("reply after your FIN");
      Awaitless.streamsDrained(t);
    }
  }

  @Test
  void writeAfterEndFailsAndStreamClosesWhenBothFinished() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, Streams.echo())) {
      Stream s = await(on(t.client.context(), () -> t.client.open(WireSpec.KIND_TCP, "x", null)));
      Future<Void> closed = await(on(t.client.context(), () -> {
        s.handler(b -> { });
        s.endHandler(v -> { });
        s.end();
        return Future.succeededFuture(s.closeFuture());
      }));
      Throwable e = failure(on(t.client.context(), () -> s.write(Buffer.buffer("late"))));
      assertThat(e).hasMessageContaining("closed for writing");
      await(closed);
      assertThat(t.client.streamCount()).isZero();
    }
  }

  @Test
  void resetReachesThePeerWithItsCode() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, s -> s.accept().onSuccess(st ->
        st.handler(b -> st.reset(ErrorCode.CONNECT_REFUSED, "target refused"))))) {
      Promise<Throwable> err = Promise.promise();
      Stream s = await(on(t.client.context(), () -> t.client.open(WireSpec.KIND_TCP, "x", null)));
      await(on(t.client.context(), () -> {
        s.exceptionHandler(err::tryComplete);
        return s.write(Buffer.buffer("hello"));
      }));
      Throwable e = await(err.future());
      assertThat(e).isInstanceOfSatisfying(StreamResetException.class, r -> {
        assertThat(r.code()).isEqualTo(ErrorCode.CONNECT_REFUSED);
        assertThat(r.isRemote()).isTrue();
        assertThat(r.reason()).isEqualTo("target refused");
      });
      Throwable w = failure(on(t.client.context(), () -> s.write(Buffer.buffer("more"))));
      assertThat(w).hasMessageContaining("closed");
      Awaitless.streamsDrained(t);
    }
  }

  @Test
  void rejectedOpenFailsWithTheCodeAndIsCounted() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG,
        s -> s.reject(ErrorCode.NOT_FOUND, "no port 9999 in workspace"))) {
      Throwable e = failure(on(t.client.context(),
          () -> t.client.open(WireSpec.KIND_TCP, "127.0.0.1:9999", null)));
      assertThat(e).isInstanceOfSatisfying(StreamRefusedException.class, r -> {
        assertThat(r.code()).isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(r.getMessage()).contains("open refused by peer", "no port 9999");
      });
      assertThat(t.serverMetrics.refusals(Refusals.STREAM_REFUSED)).isEqualTo(1);
    }
  }

  @Test
  void pingMeasuresRtt() throws Exception {
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG, Streams.echo())) {
      long rtt = await(t.client.ping());
      assertThat(rtt).isPositive();
      assertThat(t.client.lastRttNanos()).isPositive();
      assertThat(t.client.smoothedRttNanos()).isPositive();
      assertThat(t.clientMetrics.rttSamples()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void goAwayDrainsOpenStreamsAndRefusesNewOnes() throws Exception {
    List<Stream> accepted = new ArrayList<>();
    try (Tunnels t = Tunnels.pipe(vertx, CFG, CFG,
        s -> s.accept().onSuccess(accepted::add))) {
      Stream s = await(on(t.client.context(), () -> t.client.open(WireSpec.KIND_TCP, "x", null)));
      Promise<Buffer> clientGot = Promise.promise();
      Future<Void> drained = await(on(t.server.context(), () -> {
        Buffer b = Buffer.buffer();
        s.handler(b::appendBuffer);
        s.endHandler(v -> clientGot.complete(b));
        return Future.succeededFuture(t.server.goAway(ErrorCode.GOING_AWAY, "relay draining"));
      }));
      // new streams are refused once the GOAWAY arrived
      Awaitless.until(t, () -> t.client.isGoingAway());
      Throwable e = failure(on(t.client.context(), () -> t.client.open(1, "y", null)));
      assertThat(e).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.GOING_AWAY));
      // the open stream still works in both directions
      Stream remote = accepted.get(0);
      Buffer serverGot = Buffer.buffer();
      Promise<Void> serverEnd = Promise.promise();
      await(on(t.server.context(), () -> {
        remote.handler(serverGot::appendBuffer);
        remote.endHandler(serverEnd::complete);
        remote.write(Buffer.buffer("still here"));
        return remote.end();
      }));
      await(on(t.client.context(), () -> {
        s.write(Buffer.buffer("me too"));
        return s.end();
      }));
      assertThat(await(clientGot.future()).toString()).isEqualTo("still here");
      await(serverEnd.future());
      assertThat(serverGot.toString()).isEqualTo("me too");
      // once the last stream finished, the session closes by itself
      await(drained);
      await(t.client.closeFuture());
      assertThat(t.serverMetrics.goAwaysSent()).isEqualTo(1);
      assertThat(t.clientMetrics.refusals(Refusals.GOING_AWAY)).isEqualTo(1);
    }
  }

  @Test
  void unacceptedOpenTimesOut() throws Exception {
    TunnelConfig fast = CFG.withTimeouts(Duration.ofMillis(200), Duration.ZERO,
        Duration.ofSeconds(15), Duration.ofSeconds(45));
    try (Tunnels t = Tunnels.pipe(vertx, fast, fast, s -> { /* never answers */ })) {
      Throwable e = failure(on(t.client.context(), () -> t.client.open(1, "slow", null)));
      assertThat(e).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.TIMEOUT));
      assertThat(t.client.streamCount()).isZero();
      Awaitless.until(t, () -> t.server.streamCount() == 0);
      assertThat(t.clientMetrics.refusals(Refusals.OPEN_TIMEOUT)
          + t.serverMetrics.refusals(Refusals.OPEN_TIMEOUT)).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void idleSessionIsClosed() throws Exception {
    TunnelConfig idle = CFG.withTimeouts(Duration.ofSeconds(5), Duration.ofMillis(200),
        Duration.ofSeconds(15), Duration.ofSeconds(45));
    try (Tunnels t = Tunnels.pipe(vertx, idle, CFG, Streams.echo())) {
      await(t.client.closeFuture());
      await(t.server.closeFuture());
      assertThat(t.clientMetrics.refusals(Refusals.IDLE)).isEqualTo(1);
    }
  }

  @Test
  void anOpenPastThePeersStreamLimitWaitsForASlotInOrder() throws Exception {
    TunnelConfig two = CFG.withMaxConcurrentStreams(2);
    try (Tunnels t = Tunnels.pipe(vertx, CFG, two, s -> s.accept())) {
      Stream a = await(on(t.client.context(), () -> t.client.open(1, "a", null)));
      await(on(t.client.context(), () -> t.client.open(1, "b", null)));
      Future<Stream> c = on(t.client.context(), () -> t.client.open(1, "c", null));
      Future<Stream> d = on(t.client.context(), () -> t.client.open(1, "d", null));
      // a full round trip later both still wait (no refusal, nothing sent for them)
      t.client.openHandler(Streams.echo());
      await(Streams.exchange(t.server, Buffer.buffer("ping")));
      assertThat(c.isComplete()).isFalse();
      assertThat(d.isComplete()).isFalse();
      await(on(t.client.context(), () -> {
        a.reset(ErrorCode.CANCEL, "done with a");
        return Future.succeededFuture();
      }));
      assertThat(await(c).target()).isEqualTo("c");
      assertThat(d.isComplete()).isFalse();
      assertThat(t.clientMetrics.refusals(Refusals.MAX_CONCURRENT_STREAMS)).isZero();
    }
  }

  @Test
  void anOpenWaitingForASlotIsRefusedWithLimitAfterTheOpenTimeoutAndCounted() throws Exception {
    TunnelConfig two = CFG.withMaxConcurrentStreams(2);
    TunnelConfig quick = CFG.withTimeouts(Duration.ofMillis(300), CFG.idleTimeout(),
        CFG.keepaliveInterval(), CFG.deadPeerTimeout());
    try (Tunnels t = Tunnels.pipe(vertx, quick, two, s -> s.accept())) {
      await(on(t.client.context(), () -> t.client.open(1, "a", null)));
      await(on(t.client.context(), () -> t.client.open(1, "b", null)));
      Throwable e = failure(on(t.client.context(), () -> t.client.open(1, "c", null)));
      assertThat(e).isInstanceOfSatisfying(StreamRefusedException.class, r -> {
        assertThat(r.code()).isEqualTo(ErrorCode.LIMIT);
        assertThat(r.getMessage()).contains("no stream slot within 300 ms")
            .contains("at most 2 concurrent streams");
      });
      assertThat(t.clientMetrics.refusals(Refusals.MAX_CONCURRENT_STREAMS)).isEqualTo(1);
    }
  }

  @Test
  void opensWaitingForASlotFailWhenTheSessionCloses() throws Exception {
    TunnelConfig two = CFG.withMaxConcurrentStreams(2);
    try (Tunnels t = Tunnels.pipe(vertx, CFG, two, s -> s.accept())) {
      await(on(t.client.context(), () -> t.client.open(1, "a", null)));
      await(on(t.client.context(), () -> t.client.open(1, "b", null)));
      Future<Stream> c = on(t.client.context(), () -> t.client.open(1, "c", null));
      await(on(t.client.context(), () -> t.client.close(ErrorCode.NO_ERROR, "bye")));
      assertThat(failure(c)).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.GOING_AWAY));
    }
  }

  @Test
  void opensWaitingForASlotAreRefusedAsGoingAwayWhenThePeerGoesAway() throws Exception {
    TunnelConfig two = CFG.withMaxConcurrentStreams(2);
    try (Tunnels t = Tunnels.pipe(vertx, CFG, two, s -> s.accept())) {
      await(on(t.client.context(), () -> t.client.open(1, "a", null)));
      await(on(t.client.context(), () -> t.client.open(1, "b", null)));
      Future<Stream> c = on(t.client.context(), () -> t.client.open(1, "c", null));
      on(t.server.context(), () -> {
        t.server.goAway(ErrorCode.NO_ERROR, "draining");
        return Future.succeededFuture();
      });
      assertThat(failure(c)).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.GOING_AWAY));
    }
  }

  @Test
  void withNoStreamOfOursOpenAPeerLimitOfZeroRefusesAtOnce() throws Exception {
    TunnelConfig none = CFG.withMaxConcurrentStreams(0);
    try (Tunnels t = Tunnels.pipe(vertx, CFG, none, s -> s.accept())) {
      Throwable e = failure(on(t.client.context(), () -> t.client.open(1, "a", null)));
      assertThat(e).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.LIMIT));
      assertThat(t.clientMetrics.refusals(Refusals.MAX_CONCURRENT_STREAMS)).isEqualTo(1);
    }
  }

  @Test
  void writerIgnoringBackPressureIsResetAtTheStreamBufferLimit() throws Exception {
    TunnelConfig small = CFG.withBuffers(256 * 1024, CFG.maxBufferedPerSession(), 64 * 1024);
    try (Tunnels t = Tunnels.pipe(vertx, small, CFG, s -> s.accept().onSuccess(Stream::pause))) {
      Stream s = await(on(t.client.context(), () -> t.client.open(1, "a", null)));
      Throwable e = failure(on(t.client.context(), () -> {
        Future<Void> last = Future.succeededFuture();
        for (int i = 0; i < 100 && last.succeeded(); i++) {
          last = s.write(Buffer.buffer(new byte[64 * 1024]));
        }
        return last;
      }));
      assertThat(e).isInstanceOfSatisfying(StreamResetException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.LIMIT));
      assertThat(t.clientMetrics.refusals(Refusals.STREAM_BUFFER)).isEqualTo(1);
    }
  }

  /** Small polling helpers bound to a tunnel's contexts. */
  static final class Awaitless {
    static void until(Tunnels t, java.util.function.Supplier<Boolean> c) {
      io.relaymesh.proxy.testutil.Await.until(t.client.context(), c);
    }

    static void streamsDrained(Tunnels t) {
      until(t, () -> t.client.streamCount() == 0 && t.server.streamCount() == 0);
    }
  }
}
