package io.relaymesh.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.proxy.testutil.FakePeer;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.proxy.session.impl.SessionImpl;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Corner cases driven frame by frame from a scripted peer. */
@Timeout(60)
class ScriptedPeerTest {
  static Vertx vertx;
  static final TunnelConfig CFG = TunnelConfig.defaults();

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    Await.await(vertx.close());
  }

  private static Buffer data(int n) {
    return Buffer.buffer(new byte[n]);
  }

  @Test
  void sessionSendsSettingsFirstAndAcksOurs() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.awaitFrame("SETTINGS ACK");
    assertThat(p.received().get(0)).isEqualTo("SETTINGS " + CFG.initialStreamWindow() + " "
        + CFG.maxFrameSize() + " " + CFG.maxConcurrentStreams() + " " + CFG.maxOpenSize());
  }

  @Test
  void frameBeforeSettingsIsAConnectionError() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept());
    p.send(b -> FrameWriter.ping(b, 1));
    assertThat(p.awaitFrame("GOAWAY")).startsWith("GOAWAY 0 PROTOCOL_ERROR");
    p.awaitClosed();
    assertThat(p.metrics.refusals(Refusals.PROTOCOL_ERROR)).isEqualTo(1);
  }

  @Test
  void dataBeyondGrantedCreditResetsOnlyThatStream() {
    TunnelConfig small = CFG.withWindows(4096, 8192);
    FakePeer p = new FakePeer(vertx, small, s -> s.accept().onSuccess(Stream::pause))
        .handshake(65536);
    p.send(b -> {
      FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null);
      FrameWriter.open(b, 3, WireSpec.KIND_TCP, "a:2", null);
      FrameWriter.data(b, 1, data(4096)); // exactly the window: fine
      FrameWriter.data(b, 3, data(4096));
      FrameWriter.data(b, 3, data(1)); // one byte too many
    });
    assertThat(p.awaitFrame("RESET 3")).startsWith("RESET 3 FLOW_CONTROL_ERROR");
    assertThat(p.metrics.refusals(Refusals.FLOW_CONTROL)).isEqualTo(1);
    // the session and stream 1 live on
    p.send(b -> FrameWriter.ping(b, 42));
    p.awaitFrame("PONG 42");
    assertThat(p.received()).noneMatch(e -> e.startsWith("RESET 1") || e.startsWith("GOAWAY"));
    assertThat(p.session.streamCount()).isEqualTo(1);
  }

  @Test
  void senderNeverExceedsThePeersCredit() {
    List<Stream> accepted = new ArrayList<>();
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept().onSuccess(accepted::add))
        .handshake(10_000);
    p.send(b -> FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null));
    p.awaitFrame("OPEN_OK 1");
    p.run(() -> accepted.get(0).write(data(100_000)));
    p.send(b -> FrameWriter.ping(b, 7));
    p.awaitFrame("PONG 7");
    p.send(b -> FrameWriter.ping(b, 8)); // a second round trip: everything sendable was sent
    p.awaitFrame("PONG 8");
    assertThat(sentBytes(p.received(), 1)).isEqualTo(10_000);
    p.send(b -> FrameWriter.windowUpdate(b, 1, 5_000));
    Await.until(p.ctx, () -> sentBytes(p.receivedOnContext(), 1) == 15_000);
    p.send(b -> FrameWriter.ping(b, 9));
    p.awaitFrame("PONG 9");
    assertThat(sentBytes(p.received(), 1)).isEqualTo(15_000);
  }

  private static long sentBytes(List<String> frames, int stream) {
    return frames.stream().filter(e -> e.startsWith("DATA " + stream + " "))
        .mapToLong(e -> e.length() - ("DATA " + stream + " ").length()).sum();
  }

  @Test
  void rapidResetFloodClosesTheSession() {
    TunnelConfig strict = CFG.withRates(1000, 10, 10);
    FakePeer p = new FakePeer(vertx, strict, s -> s.accept()).handshake(65536);
    p.send(b -> {
      for (int id = 1; id < 100; id += 2) {
        FrameWriter.open(b, id, WireSpec.KIND_TCP, "a:1", null);
        FrameWriter.reset(b, id, 8, "cancel");
      }
    });
    assertThat(p.awaitFrame("GOAWAY")).contains("LIMIT");
    p.awaitClosed();
    assertThat(p.metrics.refusals(Refusals.RESET_RATE)).isEqualTo(1);
  }

  @Test
  void openFloodAboveTwiceTheRateClosesTheSession() {
    FakePeer p = new FakePeer(vertx, CFG.withRates(5, 1000, 10), s -> s.accept())
        .handshake(65536);
    p.send(b -> {
      for (int id = 1; id < 60; id += 2) {
        FrameWriter.open(b, id, WireSpec.KIND_TCP, "a:1", null);
      }
    });
    assertThat(p.awaitFrame("GOAWAY")).contains("LIMIT");
    p.awaitClosed();
    assertThat(p.metrics.refusals(Refusals.OPEN_RATE)).isBetween(5L, 6L);
    assertThat(p.metrics.refusals(Refusals.OPEN_FLOOD)).isEqualTo(1);
    assertThat(p.received().stream().filter(e -> e.startsWith("OPEN_OK")).count())
        .isBetween(5L, 6L);
  }

  @Test
  void sessionMustBeCreatedOnItsContext() {
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    io.relaymesh.proxy.transport.PipeTransport[] pipe =
        io.relaymesh.proxy.transport.PipeTransport.pair(ctx, 1024);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Session.create(ctx, pipe[0],
        Role.CLIENT, CFG, null)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("must be created on its context");
  }

  @Test
  void pingFloodClosesTheSession() {
    FakePeer p = new FakePeer(vertx, CFG.withRates(1000, 1000, 5), s -> s.accept())
        .handshake(65536);
    p.send(b -> {
      for (int i = 0; i < 50; i++) {
        FrameWriter.ping(b, i);
      }
    });
    assertThat(p.awaitFrame("GOAWAY")).contains("LIMIT");
    assertThat(p.metrics.refusals(Refusals.PING_RATE)).isEqualTo(1);
  }

  @Test
  void framesForStreamsNeverOpenedAreConnectionErrors() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.send(b -> FrameWriter.data(b, 5, data(3)));
    assertThat(p.awaitFrame("GOAWAY")).contains("PROTOCOL_ERROR");
  }

  @Test
  void streamIdsMustIncreaseAndHaveThePeersParity() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.send(b -> FrameWriter.open(b, 2, WireSpec.KIND_TCP, "a:1", null));
    assertThat(p.awaitFrame("GOAWAY")).contains("PROTOCOL_ERROR");
    FakePeer q = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    q.send(b -> {
      FrameWriter.open(b, 5, WireSpec.KIND_TCP, "a:1", null);
      FrameWriter.open(b, 3, WireSpec.KIND_TCP, "a:1", null);
    });
    assertThat(q.awaitFrame("GOAWAY")).startsWith("GOAWAY 5 PROTOCOL_ERROR");
  }

  @Test
  void framesForClosedStreamsAreIgnored() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.reject(io.relaymesh.proxy.wire.ErrorCode.NOT_FOUND, "no"))
        .handshake(65536);
    p.send(b -> FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null));
    p.awaitFrame("OPEN_ERR 1 NOT_FOUND");
    p.send(b -> {
      FrameWriter.data(b, 1, data(10));
      FrameWriter.windowUpdate(b, 1, 10);
      FrameWriter.fin(b, 1);
      FrameWriter.reset(b, 1, 8, "");
      FrameWriter.ping(b, 3);
    });
    p.awaitFrame("PONG 3");
    assertThat(p.received()).noneMatch(e -> e.startsWith("GOAWAY"));
  }

  @Test
  void unknownFrameTypesAreSkipped() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.send(b -> {
      FrameWriter.header(b, 0x42, 0, 7, 5).appendBytes(new byte[5]);
      FrameWriter.ping(b, 11);
    });
    p.awaitFrame("PONG 11");
    assertThat(p.received()).noneMatch(e -> e.startsWith("GOAWAY"));
  }

  @Test
  void truncatedFrameIsAFrameSizeError() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.send(b -> FrameWriter.header(b, WireSpec.TYPE_DATA, 0, 1, 100).appendBytes(new byte[10]));
    assertThat(p.awaitFrame("GOAWAY")).contains("FRAME_SIZE_ERROR");
    assertThat(p.metrics.refusals(Refusals.FRAME_SIZE)).isEqualTo(1);
  }

  @Test
  void silentPeerIsDetectedAsDead() {
    TunnelConfig fast = CFG.withTimeouts(Duration.ofSeconds(5), Duration.ZERO,
        Duration.ofMillis(50), Duration.ofMillis(300));
    FakePeer p = new FakePeer(vertx, fast, s -> s.accept()).handshake(65536);
    assertThat(p.awaitFrame("GOAWAY")).contains("TIMEOUT");
    assertThat(p.received()).anyMatch(e -> e.startsWith("PING"));
    assertThat(p.metrics.refusals(Refusals.DEAD_PEER)).isEqualTo(1);
  }

  @Test
  void opensBeyondTheSessionBudgetAreRefused() {
    TunnelConfig budget = CFG.withWindows(65536, 65536)
        .withBuffers(CFG.maxBufferedPerStream(), 3 * 65536, CFG.streamWriteQueueSize());
    FakePeer p = new FakePeer(vertx, budget, s -> s.accept()).handshake(65536);
    p.send(b -> {
      for (int id = 1; id <= 7; id += 2) {
        FrameWriter.open(b, id, WireSpec.KIND_TCP, "a:1", null);
      }
    });
    assertThat(p.awaitFrame("OPEN_ERR 7")).startsWith("OPEN_ERR 7 LIMIT");
    assertThat(p.metrics.refusals(Refusals.SESSION_BUFFER)).isEqualTo(1);
    assertThat(p.session.committedReceiveBytes()).isEqualTo(3 * 65536);
  }

  @Test
  void oversizedOpenIsRefusedAndCounted() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept()).handshake(65536);
    p.send(b -> {
      FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", Buffer.buffer(new byte[CFG.maxOpenSize()]));
      FrameWriter.open(b, 3, WireSpec.KIND_TCP, "a:1", Buffer.buffer("{}"));
    });
    assertThat(p.awaitFrame("OPEN_ERR 1")).startsWith("OPEN_ERR 1 LIMIT");
    p.awaitFrame("OPEN_OK 3");
    assertThat(p.metrics.refusals(Refusals.OPEN_SIZE)).isEqualTo(1);
  }

  @Test
  void opensAfterOurGoAwayAreRefusedAsGoingAway() {
    FakePeer p = new FakePeer(vertx, CFG, s -> s.accept().onSuccess(st -> st.handler(b -> { })))
        .handshake(65536);
    p.send(b -> FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null));
    p.awaitFrame("OPEN_OK 1");
    p.session.goAway(io.relaymesh.proxy.wire.ErrorCode.GOING_AWAY, "draining");
    assertThat(p.awaitFrame("GOAWAY")).isEqualTo("GOAWAY 1 GOING_AWAY draining");
    p.send(b -> FrameWriter.open(b, 3, WireSpec.KIND_TCP, "a:1", null));
    assertThat(p.awaitFrame("OPEN_ERR 3")).startsWith("OPEN_ERR 3 GOING_AWAY");
    assertThat(p.isClosed()).isFalse(); // stream 1 still open: draining
    p.send(b -> FrameWriter.fin(b, 1));
    p.run(() -> ((SessionImpl) p.session).streams().get(0).end());
    p.awaitClosed();
  }

  @Test
  void maxConcurrentStreamsIsEnforcedOnPeerOpens() {
    FakePeer p = new FakePeer(vertx, CFG.withMaxConcurrentStreams(2), s -> s.accept())
        .handshake(65536);
    p.send(b -> {
      FrameWriter.open(b, 1, WireSpec.KIND_TCP, "a:1", null);
      FrameWriter.open(b, 3, WireSpec.KIND_TCP, "a:1", null);
      FrameWriter.open(b, 5, WireSpec.KIND_TCP, "a:1", null);
    });
    assertThat(p.awaitFrame("OPEN_ERR 5")).startsWith("OPEN_ERR 5 LIMIT");
    assertThat(p.metrics.refusals(Refusals.MAX_CONCURRENT_STREAMS)).isEqualTo(1);
  }
}
