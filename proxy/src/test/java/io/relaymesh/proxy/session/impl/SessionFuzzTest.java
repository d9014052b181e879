package io.relaymesh.proxy.session.impl;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.PipeTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.slf4j.LoggerFactory;

/**
 * Coverage-guided fuzzing of the session state machine (docs/fuzzing.md): a real
 * {@link SessionImpl} (server role) over a {@link PipeTransport} gets a fuzzer-chosen sequence
 * of messages of frames with valid headers and fuzzed fields (ids near the live ones, windows,
 * codes, sizes), raw byte messages, clock jumps, and application actions (accept, reject, read,
 * write, pause, reset, open, GOAWAY). After each step and at the end it checks:
 * <ul>
 *   <li>nothing but a clean GOAWAY/close ends the session: no exception reaches Vert.x, no
 *       {@code internal-error} refusal (the session's catch-all for a bug);</li>
 *   <li>every refusal is counted with a reason listed in {@link Refusals};</li>
 *   <li>what the session sends decodes without error;</li>
 *   <li>buffered-byte accounting never goes negative; after close no stream is left in the
 *       stream map, the committed receive budget is back to 0, every opened stream was counted
 *       closed;</li>
 *   <li>each input finishes within {@value #INPUT_SECONDS} s.</li>
 * </ul>
 */
class SessionFuzzTest {
  static final int INPUT_SECONDS = 20;
  static final Set<String> REASONS = reasons();
  static Vertx vertx;
  static Context ctx;
  static final List<Throwable> uncaught = new ArrayList<>();
  static final Logger LOG = (Logger) LoggerFactory.getLogger(SessionImpl.class);

  @BeforeAll
  static void start() {
    // one INFO line per session closed by a protocol error: millions while fuzzing
    LOG.setLevel(Level.WARN);
    vertx = Vertx.vertx();
    vertx.exceptionHandler(t -> {
      synchronized (uncaught) {
        uncaught.add(t);
      }
    });
    ctx = vertx.getOrCreateContext();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    LOG.setLevel(null);
  }

  /** Small limits, so that inputs of a few hundred bytes reach them. */
  private static TunnelConfig config(int choice) {
    TunnelConfig c = TunnelConfig.defaults().withMaxFrameSize(16384).withWindows(4096, 16384);
    switch (choice) {
      case 1:
        return c.withMaxConcurrentStreams(3).withBuffers(8192, 24576, 8192);
      case 2:
        return c.withRates(20, 10, 10);
      default:
        return c;
    }
  }

  @FuzzTest(maxDuration = "5m")
  void framesAndActionsKeepTheSessionConsistent(FuzzedDataProvider data) throws Exception {
    synchronized (uncaught) {
      uncaught.clear();
    }
    Run run = new Run(data);
    ctx.runOnContext(v -> run.begin());
    try {
      run.done.get(INPUT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("input not processed within " + INPUT_SECONDS + " s: "
          + run.steps + " steps done", e);
    }
    synchronized (uncaught) {
      assertThat(uncaught).as("exceptions that reached Vert.x").isEmpty();
    }
  }

  /** One input: a session, a scripted peer end, and the fuzzer's script. Context only. */
  private static final class Run implements SessionMetrics {
    final FuzzedDataProvider d;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final List<String> refusals = new ArrayList<>();
    final List<Stream> streams = new ArrayList<>();
    final FrameReader peerReader = new FrameReader(WireSpec.MAX_MAX_FRAME_SIZE,
        WireSpec.MAX_MAX_FRAME_SIZE);
    long now = 1_000_000_000L;
    long opened;
    long closed;
    int steps;
    int lastPeerId = -1;
    SessionImpl session;
    PipeTransport peer;

    Run(FuzzedDataProvider d) {
      this.d = d;
    }

    void begin() {
      try {
        PipeTransport[] pair = PipeTransport.pair(ctx, 64 * 1024);
        peer = pair[0];
        peer.messageHandler(this::fromSession);
        session = new SessionImpl(ctx, pair[1], Role.SERVER, config(d.consumeInt(0, 2)), this,
            () -> now);
        session.openHandler(this::opened);
        if (d.consumeBoolean()) { // usually the peer starts properly
          send(FrameWriter.settings(Buffer.buffer(), new Settings(d.consumeInt(0, 70_000),
              d.consumeBoolean() ? -1 : 4096, d.consumeInt(-1, 8), -1)));
        }
        next();
      } catch (Throwable t) {
        done.completeExceptionally(t);
      }
    }

    /** The next step, as its own context task, so that sent messages are delivered between. */
    void next() {
      ctx.runOnContext(v -> {
        try {
          if (d.remainingBytes() == 0 || steps++ > 200) {
            finish();
          } else {
            step();
            check();
            next();
          }
        } catch (Throwable t) {
          done.completeExceptionally(t);
        }
      });
    }

    void step() {
      switch (d.consumeInt(0, 9)) {
        case 0:
        case 1:
        case 2:
        case 3: {
          Buffer m = Buffer.buffer();
          int n = d.consumeInt(1, 4);
          for (int i = 0; i < n; i++) {
            frame(m);
          }
          send(m);
          break;
        }
        case 4:
          send(Buffer.buffer(d.consumeBytes(d.consumeInt(0, 64))));
          break;
        case 5:
          now += d.consumeLong(0, Duration.ofSeconds(120).toNanos());
          break;
        case 6:
        case 7:
        case 8:
          app();
          break;
        default:
          if (d.consumeBoolean()) {
            session.goAway(ErrorCode.NO_ERROR, "fuzz");
          } else {
            session.ping();
          }
      }
    }

    /** A frame with a valid header for its type and fuzzed fields. */
    void frame(Buffer m) {
      int sid = streamId();
      switch (d.consumeInt(0, 12)) {
        case 0:
          FrameWriter.open(m, sid, d.consumeInt(0, 6), d.consumeAsciiString(40),
              Buffer.buffer(d.consumeBytes(d.consumeInt(0, 40))));
          break;
        case 1:
          FrameWriter.openOk(m, sid);
          break;
        case 2:
          FrameWriter.openErr(m, sid, d.consumeInt(0, 12), "no");
          break;
        case 3:
        case 4:
          FrameWriter.data(m, sid, Buffer.buffer(new byte[d.consumeInt(0, 5000)]));
          break;
        case 5:
          FrameWriter.windowUpdate(m, sid, d.consumeLong(1, WireSpec.MAX_WINDOW));
          break;
        case 6:
          FrameWriter.fin(m, sid);
          break;
        case 7:
          FrameWriter.reset(m, sid, d.consumeInt(0, 12), "reset");
          break;
        case 8:
          FrameWriter.ping(m, d.consumeLong());
          break;
        case 9:
          FrameWriter.pong(m, d.consumeLong());
          break;
        case 10:
          FrameWriter.goAway(m, d.consumeInt(0, 64), d.consumeInt(0, 12), "bye");
          break;
        case 11:
          FrameWriter.settings(m, new Settings(d.consumeLong(-1, WireSpec.MAX_WINDOW),
              -1, d.consumeLong(-1, 10), d.consumeLong(-1, 5000)));
          break;
        default:
          FrameWriter.header(m, d.consumeInt(0x0C, 0xFF), d.consumeInt(0, 255), sid, 0);
      }
    }

    /** Mostly ids the session knows (the next peer id, a live stream, ours), sometimes any. */
    int streamId() {
      switch (d.consumeInt(0, 4)) {
        case 0:
          // (at 2^31-1, the last id, it stays there: the session must refuse the reuse)
          lastPeerId = (int) Math.min(Math.max(lastPeerId, session.highestPeerId) + 2L,
              Integer.MAX_VALUE);
          return lastPeerId;
        case 1:
        case 2:
          return streams.isEmpty() ? 1 : streams.get(d.consumeInt(0, streams.size() - 1)).id();
        case 3:
          return d.consumeInt(1, 16);
        default:
          return d.consumeInt(1, Integer.MAX_VALUE);
      }
    }

    /** What the application does with a stream, or a local open. */
    void app() {
      if (streams.isEmpty() || d.consumeInt(0, 7) == 0) {
        session.open(WireSpec.KIND_TCP, "t:" + d.consumeInt(1, 9), null)
            .onSuccess(this::track);
        return;
      }
      Stream s = streams.get(d.consumeInt(0, streams.size() - 1));
      switch (d.consumeInt(0, 7)) {
        case 0:
          s.accept();
          break;
        case 1:
          s.reject(ErrorCode.REFUSED, "fuzz");
          break;
        case 2:
          s.write(Buffer.buffer(new byte[d.consumeInt(0, 20_000)]));
          break;
        case 3:
          s.pause();
          break;
        case 4:
          s.fetch(d.consumeInt(0, 10_000));
          break;
        case 5:
          s.resume();
          break;
        case 6:
          s.end();
          break;
        default:
          s.reset(ErrorCode.CANCEL, "fuzz");
      }
    }

    void opened(Stream s) {
      s.handler(b -> { });
      s.exceptionHandler(t -> { });
      track(s);
      if (d.remainingBytes() > 0 && d.consumeBoolean()) {
        s.accept();
      }
    }

    void track(Stream s) {
      if (streams.size() < 64) {
        streams.add(s);
      }
    }

    void send(Buffer m) {
      peer.send(m);
    }

    /** Whatever the session sends must decode. */
    void fromSession(Buffer m) {
      try {
        peerReader.read(m, IGNORE);
      } catch (ProtocolException e) {
        throw new AssertionError("the session sent an undecodable message: " + e.getMessage(), e);
      }
    }

    void check() {
      assertThat(session.committed).as("committed receive bytes").isNotNegative();
      assertThat(outBuffered()).as("buffered outbound bytes").isNotNegative();
      assertThat(refusals).as("refusal reasons").allMatch(REASONS::contains)
          .doesNotContain(Refusals.INTERNAL);
    }

    void finish() {
      session.close(ErrorCode.NO_ERROR, "fuzz input done").onComplete(ar -> {
        try {
          check();
          assertThat(session.isClosed()).isTrue();
          assertThat(session.streams).as("streams left after close").isEmpty();
          assertThat(session.committed).as("committed bytes after close").isZero();
          assertThat(closed).as("streams counted closed").isEqualTo(opened);
          done.complete(null);
        } catch (Throwable t) {
          done.completeExceptionally(t);
        }
      });
    }

    long outBuffered() {
      try {
        Field f = SessionImpl.class.getDeclaredField("outBuffered");
        f.setAccessible(true);
        return f.getLong(session);
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void refused(String reason) {
      refusals.add(reason);
    }

    @Override
    public void streamOpened(boolean local, int kind) {
      opened++;
    }

    @Override
    public void streamClosed(boolean local, int kind, long bytesIn, long bytesOut) {
      closed++;
    }
  }

  private static Set<String> reasons() {
    Set<String> r = new HashSet<>();
    for (Field f : Refusals.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        try {
          r.add((String) f.get(null));
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    return r;
  }

  private static final FrameListener IGNORE = new FrameListener() {
    @Override public void onSettings(boolean ack, Settings s) {}
    @Override public void onOpen(int id, int kind, String target, Buffer metadata) {}
    @Override public void onOpenOk(int id) {}
    @Override public void onOpenErr(int id, ErrorCode c, long raw, String reason) {}
    @Override public void onData(int id, Buffer payload) {}
    @Override public void onWindowUpdate(int id, long inc) {}
    @Override public void onFin(int id) {}
    @Override public void onReset(int id, ErrorCode c, long raw, String reason) {}
    @Override public void onPing(long opaque) {}
    @Override public void onPong(long opaque) {}
    @Override public void onGoAway(int last, ErrorCode c, long raw, String reason) {}
    @Override public void onStreamError(int id, int type, ErrorCode c, String reason) {}
  };
}
