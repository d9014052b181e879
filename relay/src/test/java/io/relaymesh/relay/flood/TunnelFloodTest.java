package io.relaymesh.relay.flood;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.metrics.RelayMetrics;
import io.relaymesh.relay.testing.BlockingEcho;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.TestClient;
import io.relaymesh.relay.testing.Waits;
import io.relaymesh.relay.tunnel.AgentEndpoint;
import io.relaymesh.relay.tunnel.ClientEndpoint;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Floods from a hostile tunnel peer ({@link HostilePeer}: our framing, written by hand over a
 * TLS WebSocket) against a real relay and control plane, as a CLIENT session (mallory's ticket,
 * mallory's own agent behind it) and as an AGENT session (eve's agent token, eve's client in
 * front of it) where the flood applies. Each test asserts that the relay
 *
 * <ol>
 *   <li>survives: a new tunnel is accepted afterwards and carries bytes;
 *   <li>stays within a memory bound: heap after GC + Netty direct memory grow by less than
 *       {@link #MEMORY_BOUND} from before the flood to its height or end, while the flood offers
 *       many times that (the bound is what the relay may legitimately hold here: 32 streams x
 *       128 KiB window, a few WebSocket write queues, meters and log buffers; a relay that keeps
 *       what a flood sends exceeds it by far);
 *   <li>keeps serving alice's well-behaved tunnel (alice's client -> relay -> alice's agent ->
 *       echo), which round-trips during and after the flood;
 *   <li>counts the refusal in {@code relaymesh_relay_refusals_total{reason=...}}.
 * </ol>
 *
 * <p>The relay runs with small limits ({@link FloodRelay#TUNNEL}) so each flood trips in well
 * under a second and a dead peer is found after 3 s.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(60)
class TunnelFloodTest {

  /** See the class comment, item 2. */
  static final long MEMORY_BOUND = 48L * 1024 * 1024;

  @TempDir
  static Path dir;
  static FloodRelay fx;
  static BlockingEcho echo;
  static NetServer firehose;
  static int firehosePort;
  static String alice;
  static String mallory;
  static String eve;
  static String eveAgentToken;
  static TestAgent aliceAgent;
  static TestAgent malloryAgent;
  static Good good;

  /** The hostile side. */
  enum Side { CLIENT, AGENT }

  @BeforeAll
  static void start() throws IOException {
    fx = new FloodRelay(dir);
    alice = fx.user("alice");
    mallory = fx.user("mallory");
    eve = fx.user("eve");
    String aliceToken = fx.workspace(alice, "dev");
    String malloryToken = fx.workspace(mallory, "m");
    eveAgentToken = fx.workspace(eve, "e");
    echo = new BlockingEcho();
    // the workspace service a hostile client asks to send without ever reading what it gets
    firehose = await(fx.vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1"))
        .connectHandler(TunnelFloodTest::pour).listen(0));
    firehosePort = firehose.actualPort();
    aliceAgent = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        aliceToken));
    malloryAgent = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        malloryToken));
    Waits.until("alice's and mallory's agents registered", Duration.ofSeconds(20),
        () -> fx.relay.agents().agentIds().size() == 2);
    good = new Good();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {good,
        aliceAgent == null ? null : aliceAgent::close,
        malloryAgent == null ? null : malloryAgent::close, echo}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing the rest anyway
      }
    }
    if (firehose != null) {
      await(firehose.close());
    }
    if (fx != null) {
      fx.close();
    }
  }

  private long before;
  private HostilePeer hostile;

  @BeforeEach
  void baseline() {
    good.roundTrip();
    before = FloodRelay.footprint();
  }

  @AfterEach
  void survived() {
    if (hostile != null) {
      hostile.close();
    }
    Waits.until("only alice's and mallory's agents registered", Duration.ofSeconds(10),
        () -> fx.relay.agents().agentIds().size() == 2);
    // (a) the relay still accepts a new tunnel, which carries bytes; (c) alice's tunnel still
    // round-trips
    TestClient fresh = await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        fx.ticket(alice, "dev", echo.port())));
    try {
      byte[] data = "after the flood".getBytes(StandardCharsets.UTF_8);
      assertThat(await(fresh.echoed(echo.port(), data)).getBytes()).isEqualTo(data);
    } finally {
      fresh.close();
    }
    good.roundTrip();
    assertThat(good.session().isClosed()).isFalse();
  }

  /** (b) checked at the flood's height or end. */
  private void withinMemoryBound(String when) {
    long grown = FloodRelay.footprint() - before;
    System.out.printf("flood memory growth %s: %d KiB%n", when, grown / 1024);
    assertThat(grown).as("heap after GC + direct memory growth %s (bytes)", when)
        .isLessThan(MEMORY_BOUND);
  }

  // ---- floods ------------------------------------------------------------------------------

  /** CVE-2023-44487: OPEN + RESET pairs, as fast as the socket takes them. */
  @ParameterizedTest
  @EnumSource(Side.class)
  void rapidResetIsCutOffByTheResetRate(Side side) throws Exception {
    double resets = fx.refusals(Refusals.RESET_RATE);
    hostile = connect(side);
    int id = 1;
    String goAway = null;
    for (int batch = 0; batch < 200 && goAway == null; batch++) {
      Buffer b = Buffer.buffer();
      for (int i = 0; i < 20; i++, id += 2) {
        FrameWriter.open(b, id, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), Buffer.buffer());
        FrameWriter.reset(b, id, 8, "cancel");
      }
      if (!sendOrEnded(b)) {
        break;
      }
      if (batch % 10 == 0) {
        good.roundTrip(); // (c) during
      }
      goAway = hostile.awaitEvent("GOAWAY", Duration.ofMillis(1));
    }
    if (goAway == null) {
      goAway = hostile.awaitEvent("GOAWAY", Duration.ofSeconds(5));
    }
    assertThat(goAway).as("answer to a rapid reset flood").startsWith("GOAWAY")
        .contains("LIMIT").contains("reset");
    assertThat(hostile.awaitEvent("CLOSE", Duration.ofSeconds(5))).isEqualTo("CLOSE 1008");
    assertThat(fx.refusals(Refusals.RESET_RATE)).isEqualTo(resets + 1);
    withinMemoryBound("after a rapid-reset flood");
    // nothing left behind: every stream the flood made the relay open at mallory's agent is gone
    Waits.until("no stream left open at the agents", Duration.ofSeconds(10),
        () -> fx.relay.metrics().streams(RelayMetrics.TCP) == 1); // alice's
  }

  /** Opens past max-concurrent-streams are refused one by one; the session stays. */
  @Test
  void opensPastTheConcurrencyLimitAreRefused() throws Exception {
    double refused = fx.refusals(Refusals.MAX_CONCURRENT_STREAMS);
    hostile = connect(Side.CLIENT);
    int max = FloodRelay.TUNNEL.maxConcurrentStreams();
    int extra = 8;
    Buffer b = Buffer.buffer();
    for (int i = 0; i < max + extra; i++) {
      FrameWriter.open(b, 1 + 2 * i, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(),
          Buffer.buffer());
    }
    hostile.send(b);
    int ok = 0;
    int limit = 0;
    for (int i = 0; i < max + extra; i++) {
      String e = hostile.awaitEvent("OPEN_", Duration.ofSeconds(10));
      assertThat(e).as("answer %d of %d", i, max + extra).isNotNull();
      if (e.startsWith("OPEN_OK")) {
        ok++;
      } else if (e.contains("LIMIT") && e.contains("concurrent")) {
        limit++;
      }
    }
    assertThat(ok).isEqualTo(max);
    assertThat(limit).isEqualTo(extra);
    assertThat(fx.refusals(Refusals.MAX_CONCURRENT_STREAMS)).isEqualTo(refused + extra);
    good.roundTrip();
    withinMemoryBound("with the client's streams all open");
    assertThat(hostile.ended()).isFalse();
  }

  /**
   * Opens at more than twice the open rate: refused ({@code open-rate}), then GOAWAY LIMIT
   * ({@code open-flood}). An agent's opens are refused anyway (agents open nothing); the rate
   * limit still ends its flood.
   */
  @ParameterizedTest
  @EnumSource(Side.class)
  void openFloodEndsInGoAway(Side side) throws Exception {
    double rate = fx.refusals(Refusals.OPEN_RATE);
    double flood = fx.refusals(Refusals.OPEN_FLOOD);
    hostile = connect(side);
    int id = 1;
    String goAway = null;
    for (int batch = 0; batch < 100 && goAway == null; batch++) {
      Buffer b = Buffer.buffer();
      for (int i = 0; i < 50; i++, id += 2) {
        // not the ticket's port: refused by the relay at once, the concurrency limit stays clear
        FrameWriter.open(b, id, WireSpec.KIND_TCP, "127.0.0.1:1", Buffer.buffer());
      }
      if (!sendOrEnded(b)) {
        break;
      }
      goAway = hostile.awaitEvent("GOAWAY", Duration.ofMillis(1));
    }
    if (goAway == null) {
      goAway = hostile.awaitEvent("GOAWAY", Duration.ofSeconds(5));
    }
    assertThat(goAway).as("answer to an open flood").startsWith("GOAWAY").contains("LIMIT")
        .contains("open");
    assertThat(fx.refusals(Refusals.OPEN_RATE)).isGreaterThan(rate);
    assertThat(fx.refusals(Refusals.OPEN_FLOOD)).isEqualTo(flood + 1);
    good.roundTrip();
    withinMemoryBound("after an open flood");
  }

  /**
   * DATA sent regardless of the window (3 frames of 64 KiB per message, no WINDOW_UPDATE
   * awaited): the stream's credit runs out once what the relay forwarded stalls behind a peer
   * that does not read (the hostile side never grants its own window), and the relay answers
   * RESET FLOW_CONTROL_ERROR; the rest of the 64 MiB on the reset stream is dropped, not kept.
   */
  @ParameterizedTest
  @EnumSource(Side.class)
  void dataPastTheWindowResetsTheStreamAndIsNotKept(Side side) throws Exception {
    double flow = fx.refusals(Refusals.FLOW_CONTROL);
    hostile = connect(side, echo.port(), NORMAL);
    int id = openStream(side);
    Buffer chunk = Buffer.buffer(new byte[WireSpec.DEFAULT_MAX_FRAME_SIZE]);
    Buffer over = Buffer.buffer();
    for (int i = 0; i < 3; i++) {
      FrameWriter.data(over, id, chunk);
    }
    String reset = null;
    long flooded = 0;
    for (int i = 0; flooded < 64L * 1024 * 1024; i++) {
      hostile.send(over);
      flooded += over.length();
      if (reset == null) {
        reset = hostile.awaitEvent("RESET " + id, Duration.ofMillis(1));
      }
      if (i % 64 == 0) {
        good.roundTrip();
      }
    }
    withinMemoryBound("after 64 MiB of DATA regardless of the window");
    if (reset == null) {
      reset = hostile.awaitEvent("RESET " + id, Duration.ofSeconds(5));
    }
    assertThat(reset).as("answer to DATA past the window; %s", hostile.trace())
        .contains("FLOW_CONTROL_ERROR");
    assertThat(fx.refusals(Refusals.FLOW_CONTROL)).isEqualTo(flow + 1);
    hostile.send(FrameWriter.ping(Buffer.buffer(), 77)); // the session itself is still served
    assertThat(hostile.awaitEvent("PONG", Duration.ofSeconds(10))).isEqualTo("PONG 77");
  }

  /** A WINDOW_UPDATE that takes the send window beyond 2^31-1: RESET FLOW_CONTROL_ERROR. */
  @ParameterizedTest
  @EnumSource(Side.class)
  void windowUpdateOverflowResetsTheStream(Side side) throws Exception {
    double flow = fx.refusals(Refusals.FLOW_CONTROL);
    hostile = connect(side);
    int id = openStream(side);
    hostile.send(FrameWriter.windowUpdate(Buffer.buffer(), id, WireSpec.MAX_WINDOW));
    String reset = hostile.awaitEvent("RESET " + id, Duration.ofSeconds(10));
    assertThat(reset).as("answer to a window overflow").contains("FLOW_CONTROL_ERROR")
        .contains("2^31-1");
    assertThat(fx.refusals(Refusals.FLOW_CONTROL)).isEqualTo(flow + 1);
    good.roundTrip();
    withinMemoryBound("after a window overflow");
  }

  /** More PINGs than 10/s (burst 10): GOAWAY LIMIT. */
  @ParameterizedTest
  @EnumSource(Side.class)
  void pingFloodEndsInGoAway(Side side) throws Exception {
    double pings = fx.refusals(Refusals.PING_RATE);
    hostile = connect(side);
    Buffer b = Buffer.buffer();
    for (int i = 0; i < 1000; i++) {
      FrameWriter.ping(b, i);
    }
    hostile.send(b);
    String goAway = hostile.awaitEvent("GOAWAY", Duration.ofSeconds(10));
    assertThat(goAway).as("answer to a PING flood").startsWith("GOAWAY").contains("LIMIT")
        .contains("ping");
    assertThat(fx.refusals(Refusals.PING_RATE)).isEqualTo(pings + 1);
    good.roundTrip();
    withinMemoryBound("after a PING flood");
  }

  /**
   * A WebSocket frame header announcing 2^31 bytes, and none of them: the relay drops the
   * connection on the header alone, before any payload exists to allocate for; likewise a header
   * just above the 65,536-byte frame limit, and a message that grows past 256 KiB in frames
   * within the limit. Each is counted as {@code message-size}.
   */
  @ParameterizedTest
  @EnumSource(Side.class)
  void oversizedWebSocketFramesAreRefusedBeforeAllocation(Side side) throws Exception {
    double refused = fx.refusals(io.relaymesh.proxy.session.Refusals.MESSAGE_SIZE);
    hostile = connect(side, echo.port(), NORMAL);
    hostile.sendHeaderOnly(1L << 31);
    refusedForSize("Max frame length of 65536");
    withinMemoryBound("after a 2 GiB frame header");
    hostile.close();
    hostile = connect(side, echo.port(), NORMAL);
    hostile.sendHeaderOnly(HostilePeer.WS_FRAME + 1);
    refusedForSize("Max frame length of 65536");
    hostile.close();
    hostile = connect(side, echo.port(), NORMAL);
    Buffer big = Buffer.buffer();
    for (int i = 0; i < 5; i++) { // 5 x 64 KiB + headers > 256 KiB, in 64 KiB WebSocket frames
      FrameWriter.ping(big, i);
      FrameWriter.header(big, 0x42, 0, 0, 64 * 1024 - 20).appendBytes(new byte[64 * 1024 - 20]);
    }
    hostile.send(big);
    refusedForSize("max message size of 262144");
    Waits.until("3 message-size refusals counted", Duration.ofSeconds(10),
        () -> fx.refusals(io.relaymesh.proxy.session.Refusals.MESSAGE_SIZE) == refused + 3);
    good.roundTrip();
  }

  /**
   * A peer that never reads, announcing a 2^31-1 window so that only the relay's own write-queue
   * bound holds back what it sends: as a client it opens 4 streams to a service that writes
   * without end; as an agent it accepts a stream eve's client writes into without end. It keeps
   * sending a PING every 200 ms (under the rate limit), so "nothing received" never fires; the
   * relay must still find it dead (its PINGs stay unanswered) within the dead-peer timeout (3 s
   * here) and drop it, holding a bounded amount for it meanwhile.
   */
  @ParameterizedTest
  @EnumSource(Side.class)
  void peerThatNeverReadsIsBoundedAndDropped(Side side) throws Exception {
    double dead = fx.refusals(Refusals.DEAD_PEER);
    java.util.function.IntSupplier sessions = side == Side.CLIENT
        ? fx.relay.metrics()::clientSessions : fx.relay.metrics()::agentTunnels;
    int others = sessions.getAsInt();
    Settings hugeWindow = new Settings(WireSpec.MAX_WINDOW, WireSpec.DEFAULT_MAX_FRAME_SIZE, 1024,
        WireSpec.DEFAULT_MAX_OPEN_SIZE);
    hostile = connect(side, firehosePort, hugeWindow);
    if (side == Side.CLIENT) {
      hostile.stopReading();
      Buffer opens = Buffer.buffer();
      for (int i = 0; i < 4; i++) {
        FrameWriter.open(opens, 1 + 2 * i, WireSpec.KIND_TCP, "127.0.0.1:" + firehosePort,
            Buffer.buffer());
      }
      hostile.send(opens);
    } else {
      openStream(side);
      hostile.stopReading();
      eveStream.onSuccess(TunnelFloodTest::pour);
    }
    long start = System.nanoTime();
    long height = 0;
    boolean dropped = false;
    for (int i = 0; i < 100 && !dropped; i++) { // bounded: 20 s
      Thread.sleep(200);
      try {
        hostile.send(FrameWriter.ping(Buffer.buffer(), i));
      } catch (IOException e) {
        // the relay closed the connection
      }
      if (i == 10) { // 2 s in: the relay holds what it will hold for this peer
        good.roundTrip();
        height = FloodRelay.footprint() - before;
      }
      dropped = sessions.getAsInt() == others;
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(dropped).as("relay dropped the peer that never reads (after %d ms)", tookMs)
        .isTrue();
    assertThat(height).as("memory growth while the peer did not read (bytes)")
        .isLessThan(MEMORY_BOUND);
    assertThat(fx.refusals(Refusals.DEAD_PEER)).isEqualTo(dead + 1);
    System.out.printf("never-reading %s dropped after %d ms; growth at 2 s: %d KiB%n", side,
        tookMs, height / 1024);
  }

  // ---- helpers -----------------------------------------------------------------------------

  /**
   * The relay answers GOAWAY FRAME_SIZE_ERROR naming {@code limit} and closes; when Netty's
   * decoder refused a frame header it drops the connection itself, which may beat the GOAWAY.
   */
  private void refusedForSize(String limit) throws InterruptedException {
    String e = hostile.awaitEvent("GOAWAY", Duration.ofSeconds(10));
    assertThat(e).as(hostile.trace()).isNotNull();
    if (e.startsWith("GOAWAY")) {
      assertThat(e).contains("FRAME_SIZE_ERROR").contains(limit);
      e = hostile.awaitEvent("CLOSE", Duration.ofSeconds(10));
    }
    assertThat(e).as(hostile.trace()).isIn("CLOSE 1009", "EOF"); // Message Too Big
  }

  /** Sends {@code b}; false when the relay already closed the connection under us. */
  private boolean sendOrEnded(Buffer b) {
    try {
      hostile.send(b);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** SETTINGS of a hostile peer that looks ordinary: 64 KiB window, default limits. */
  static final Settings NORMAL = new Settings(64 * 1024, WireSpec.DEFAULT_MAX_FRAME_SIZE, 1024,
      WireSpec.DEFAULT_MAX_OPEN_SIZE);

  /**
   * A hostile session on the side's endpoint (a client's ticket is for {@code port}), after the
   * relay's SETTINGS arrived.
   */
  private HostilePeer connect(Side side, int port, Settings s) throws Exception {
    HostilePeer p;
    if (side == Side.CLIENT) {
      p = HostilePeer.connect(fx.relay.port(), fx.relay.caCertPem(), ClientEndpoint.PATH,
          fx.ticket(mallory, "m", port), s);
    } else {
      p = HostilePeer.connect(fx.relay.port(), fx.relay.caCertPem(), AgentEndpoint.PATH,
          eveAgentToken, s);
    }
    hostile = p;
    assertThat(p.awaitEvent("SETTINGS", Duration.ofSeconds(10))).isNotNull();
    if (side == Side.AGENT) {
      Waits.until("eve's agent registered", Duration.ofSeconds(10),
          () -> fx.relay.agents().agentIds().size() == 3);
    }
    return p;
  }

  private HostilePeer connect(Side side) throws Exception {
    return connect(side, echo.port(), NORMAL);
  }

  /**
   * An open stream with the hostile peer: as a client it opens one to the echo; as an agent it
   * accepts the one eve's client opens through the relay. Returns its id on the hostile side.
   */
  private int openStream(Side side) throws Exception {
    if (side == Side.CLIENT) {
      hostile.send(FrameWriter.open(Buffer.buffer(), 1, WireSpec.KIND_TCP,
          "127.0.0.1:" + echo.port(), Buffer.buffer()));
      assertThat(hostile.awaitEvent("OPEN_", Duration.ofSeconds(10))).isEqualTo("OPEN_OK 1");
      return 1;
    }
    TestClient eveClient = await(TestClient.connect(fx.vertx, fx.relay.port(),
        fx.relay.caCertPem(), fx.ticket(eve, "e", 7)));
    eveClients.add(eveClient);
    eveStream = eveClient.openTcp(7); // completes once the hostile agent answers
    String open = hostile.awaitEvent("OPEN ", Duration.ofSeconds(10));
    assertThat(open).as("the relay's OPEN at the hostile agent").isNotNull();
    int id = Integer.parseInt(open.split(" ")[1]);
    hostile.send(FrameWriter.openOk(Buffer.buffer(), id));
    return id;
  }

  private final java.util.List<TestClient> eveClients = new java.util.ArrayList<>();
  /** The stream eve's client opened to the hostile agent. */
  private io.vertx.core.Future<Stream> eveStream;

  @AfterEach
  void closeEveClients() {
    eveClients.forEach(TestClient::close);
    eveClients.clear();
  }

  /** Writes 64 KiB chunks for as long as {@code s} takes them (back-pressure respected). */
  private static void pour(io.vertx.core.streams.WriteStream<Buffer> s) {
    Buffer chunk = Buffer.buffer(new byte[64 * 1024]);
    Runnable[] fill = new Runnable[1];
    fill[0] = () -> {
      while (!s.writeQueueFull()) {
        s.write(chunk.copy());
      }
      s.drainHandler(v -> fill[0].run());
    };
    s.exceptionHandler(e -> { }); // ends when the connection or stream does
    fill[0].run();
  }

  /**
   * Alice's well-behaved tunnel: her client, one stream through the relay to her agent and the
   * echo, and a 64-byte round trip on it whenever the test asks.
   */
  static final class Good implements AutoCloseable {
    private final TestClient client;
    private final Stream stream;
    private volatile Promise<Void> waiting;
    private final Buffer received = Buffer.buffer();
    private int expected;

    Good() {
      client = await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
          fx.ticket(alice, "dev", echo.port())));
      stream = await(client.openTcp(echo.port()));
      stream.handler(b -> {
        synchronized (received) {
          received.appendBuffer(b);
          if (received.length() >= expected && waiting != null) {
            waiting.tryComplete();
          }
        }
      });
    }

    /** One 64-byte round trip; fails the test after 10 s. */
    void roundTrip() {
      Promise<Void> p = Promise.promise();
      synchronized (received) {
        expected = received.length() + 64;
        waiting = p;
      }
      stream.write(Buffer.buffer(new byte[64]));
      try {
        p.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError("alice's tunnel did not round-trip within 10 s: " + e, e);
      }
    }

    io.relaymesh.proxy.session.Session session() {
      return client.session;
    }

    @Override
    public void close() {
      client.close();
    }
  }
}
