package io.relaymesh.proxy.session;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static io.relaymesh.proxy.testutil.Await.on;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.proxy.testutil.Streams;
import io.relaymesh.proxy.testutil.Tunnels;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.relaymesh.proxy.Transports;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Sessions over a real TLS WebSocket on loopback (Vert.x server and client, port 0). */
@Timeout(120)
class WebSocketTunnelTest {
  static Vertx vertx;
  static final TunnelConfig CFG = TunnelConfig.defaults();

  @BeforeAll
  static void start() {
    vertx = Transports.create(new VertxOptions()); // epoll where available, like production
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @Test
  void thousandConcurrentStreamsEchoSixtyFourKibEach() throws Exception {
    // 1000 x 1 MiB initial windows = 1000 MiB of commit: within the 1 GiB default budget
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, Streams.echo())) {
      int n = 1000;
      List<Future<Buffer>> results = new ArrayList<>();
      List<Buffer> sent = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Buffer data = Streams.random(i, 64 * 1024);
        sent.add(data);
        results.add(Streams.exchange(t.client, data));
      }
      await(Future.join(results), 90);
      for (int i = 0; i < n; i++) {
        assertThat(results.get(i).succeeded()).as("stream %d", i).isTrue();
        assertThat(results.get(i).result().getBytes()).as("stream %d bytes", i)
            .isEqualTo(sent.get(i).getBytes());
      }
      assertThat(t.clientMetrics.streamsOpened()).isEqualTo(n);
      assertThat(t.serverMetrics.bytesIn()).isEqualTo(n * 64L * 1024);
      assertThat(t.clientMetrics.refusals()).isEmpty();
      assertThat(t.serverMetrics.refusals()).isEmpty();
      Await.until(t.client.context(), () -> t.client.streamCount() == 0);
    }
  }

  @Test
  void stoppedReaderDoesNotStallOtherStreams() throws Exception {
    AtomicReference<Stream> stuckRemote = new AtomicReference<>();
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, s -> {
      if (s.target().equals("never-reads")) {
        s.pause();
        s.accept().onSuccess(stuckRemote::set);
      } else {
        s.accept().onSuccess(st -> {
          long[] count = {0};
          st.handler(b -> count[0] += b.length());
          st.endHandler(v -> st.end(Buffer.buffer().appendLong(count[0])));
        });
      }
    })) {
      // stream A: its reader never reads; the client keeps it saturated (window exhausted)
      Stream a = await(on(t.client.context(), () -> t.client.open(1, "never-reads", null)));
      Buffer chunk = Streams.random(7, 64 * 1024);
      on(t.client.context(), () -> Streams.generate(a, chunk, Long.MAX_VALUE / 2));
      // stuck: its whole window sent, nothing granted back (where the writer's queue stops,
      // at or just under its full mark, depends on how messages were cut)
      Await.until(t.client.context(), () -> a.bytesOut() >= CFG.initialStreamWindow());
      // stream B: 100 MiB must still go through
      long total = 100L * 1024 * 1024;
      Stream b = await(on(t.client.context(), () -> t.client.open(1, "counts", null)));
      Promise<Long> counted = Promise.promise();
      await(on(t.client.context(), () -> {
        Buffer reply = Buffer.buffer();
        b.handler(reply::appendBuffer);
        b.endHandler(v -> counted.complete(reply.getLong(0)));
        b.exceptionHandler(counted::tryFail);
        Streams.generate(b, chunk, total).onFailure(counted::tryFail);
        return Future.succeededFuture();
      }));
      assertThat(await(counted.future(), 90)).isEqualTo(total);
      // A is still stuck: its bytes are parked within its own window, nothing was lost
      // (its write queue holds what the writer added after the window ran out: above the
      // drain mark, not necessarily at the full mark, depending on how messages were cut)
      Long aSent = await(on(t.client.context(), () -> Future.succeededFuture(a.bytesOut())));
      assertThat(aSent).isEqualTo(CFG.initialStreamWindow());
      assertThat(a.closeFuture().isComplete()).isFalse();
      assertThat(stuckRemote.get()).isNotNull();
      assertThat(stuckRemote.get().bytesIn()).isEqualTo(CFG.initialStreamWindow());
      assertThat(t.serverMetrics.refusals()).isEmpty();
    }
  }

  @Test
  void halfCloseResetAndRefusalOverWebSocket() throws Exception {
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, s -> {
      switch (s.target()) {
        case "refuse":
          s.reject(ErrorCode.UNAUTHORIZED, "ticket expired");
          break;
        case "reset":
          s.accept().onSuccess(st -> st.handler(x -> st.reset(ErrorCode.CANCEL, "bye")));
          break;
        default:
          s.accept().onSuccess(st -> {
            Buffer got = Buffer.buffer();
            st.handler(got::appendBuffer);
            st.endHandler(v -> st.end(Buffer.buffer("got " + got.length())));
          });
      }
    })) {
      assertThat(await(Streams.exchange(t.client, Streams.random(3, 200_000))).toString())
          .isEqualTo("got 200000");
      Throwable refused = failure(on(t.client.context(), () -> t.client.open(1, "refuse", null)));
      assertThat(refused).isInstanceOfSatisfying(StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
      Throwable reset = failure(Streams.exchange(t.client, "reset", Buffer.buffer("x")));
      assertThat(reset).isInstanceOfSatisfying(StreamResetException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.CANCEL));
    }
  }

  @Test
  void goAwayDrainsOverWebSocket() throws Exception {
    List<Stream> accepted = new ArrayList<>();
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, s -> s.accept().onSuccess(st -> {
      st.handler(b -> { });
      st.endHandler(v -> { });
      accepted.add(st);
    }))) {
      Stream s = await(on(t.client.context(), () -> t.client.open(1, "x", null)));
      Promise<Buffer> got = Promise.promise();
      await(on(t.client.context(), () -> {
        Buffer b = Buffer.buffer();
        s.handler(b::appendBuffer);
        s.endHandler(v -> got.complete(b));
        return Future.succeededFuture();
      }));
      Future<Void> drained = t.server.goAway(ErrorCode.GOING_AWAY, "relay eu-1 draining");
      Await.until(t.client.context(), t.client::isGoingAway);
      Throwable e = failure(t.client.open(1, "new", null));
      assertThat(e).isInstanceOf(StreamRefusedException.class);
      Stream remote = accepted.get(0);
      await(on(t.server.context(), () -> remote.end(Buffer.buffer("finished"))));
      await(on(t.client.context(), () -> s.end()));
      assertThat(await(got.future()).toString()).isEqualTo("finished");
      await(drained);
      await(t.client.closeFuture());
    }
  }

  @Test
  void pingOverWebSocket() throws Exception {
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, Streams.echo())) {
      assertThat(await(t.client.ping())).isPositive();
      assertThat(await(t.server.ping())).isPositive();
      assertThat(t.server.smoothedRttNanos()).isPositive();
    }
  }

  @Test
  void openRateLimitRefusesAndCounts() throws Exception {
    TunnelConfig strict = CFG.withRates(5, 200, 10);
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, strict, Streams.echo())) {
      List<Future<Stream>> opens = new ArrayList<>();
      await(on(t.client.context(), () -> {
        // rate 5/s: ~5 accepted, ~5 refused; not above twice the rate, so no flood
        for (int i = 0; i < 10; i++) {
          opens.add(t.client.open(1, "x", null));
        }
        return Future.succeededFuture();
      }));
      await(Future.join(new ArrayList<>(opens)).recover(x -> Future.succeededFuture()));
      long refused = opens.stream().filter(f -> f.failed()).count();
      assertThat(refused).isBetween(3L, 5L);
      assertThat(opens.stream().filter(Future::succeeded).count()).isEqualTo(10 - refused);
      assertThat(t.serverMetrics.refusals(Refusals.OPEN_RATE)).isEqualTo(refused);
      assertThat(t.serverMetrics.refusals(Refusals.OPEN_FLOOD)).isZero();
      assertThat(t.client.isClosed()).isFalse();
      assertThat(opens.stream().filter(Future::failed).map(Future::cause))
          .allSatisfy(c -> assertThat(((StreamRefusedException) c).code())
              .isEqualTo(ErrorCode.LIMIT));
    }
  }
}
