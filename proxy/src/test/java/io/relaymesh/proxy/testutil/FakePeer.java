package io.relaymesh.proxy.testutil;

import static io.relaymesh.proxy.testutil.Await.await;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.PipeTransport;
import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.RecordingListener;
import io.relaymesh.proxy.wire.Settings;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import io.relaymesh.proxy.session.impl.SessionImpl;
import java.util.function.Predicate;

/**
 * A scripted peer built from the production {@link FrameWriter} and {@link FrameReader}: drives
 * a real {@link Session} (as the WebSocket server) through an in-memory transport, frame by
 * frame, and records what the session sends back.
 */
public final class FakePeer {
  public final Context ctx;
  public final Session session;
  public final CountingSessionMetrics metrics = new CountingSessionMetrics();
  private final PipeTransport end;
  private final RecordingListener received = new RecordingListener();
  private final FrameReader reader = new FrameReader(16 * 1024 * 1024, 16 * 1024 * 1024);
  private final List<String> decodeErrors = new ArrayList<>();
  private boolean closed;

  public FakePeer(Vertx vertx, TunnelConfig config, Handler<Stream> opens) {
    this(vertx, config, opens, System::nanoTime);
  }

  /** With the session's clock under the test's control. */
  public FakePeer(Vertx vertx, TunnelConfig config, Handler<Stream> opens, LongSupplier clock) {
    this.ctx = vertx.getOrCreateContext();
    Object[] made = await(Await.on(ctx, () -> {
      PipeTransport[] p = PipeTransport.pair(ctx, 1 << 20);
      Session s = new SessionImpl(ctx, p[1], Role.SERVER, config, metrics, clock);
      s.openHandler(opens);
      p[0].messageHandler(m -> {
        try {
          reader.read(m, received);
        } catch (ProtocolException e) {
          decodeErrors.add(e.getMessage());
        }
      });
      p[0].closeHandler(v -> closed = true);
      return Future.succeededFuture(new Object[] {s, p[0]});
    }));
    this.session = (Session) made[0];
    this.end = (PipeTransport) made[1];
  }

  /** Sends our SETTINGS (the client side's first frame). */
  public FakePeer handshake(long initialWindow) {
    return send(b -> FrameWriter.settings(b, new Settings(initialWindow, 65536, 1024, 16384)));
  }

  /** Sends one message built by {@code frames}. */
  public FakePeer send(Consumer<Buffer> frames) {
    Buffer b = Buffer.buffer();
    frames.accept(b);
    return sendRaw(b);
  }

  public FakePeer sendRaw(Buffer message) {
    await(Await.on(ctx, () -> {
      end.send(message);
      return Future.succeededFuture();
    }));
    return this;
  }

  /** Snapshot of decoded frames received from the session. */
  public List<String> received() {
    return await(Await.on(ctx, () -> Future.succeededFuture(new ArrayList<>(received.events))));
  }

  /** The live list of decoded frames; only on {@link #ctx}. */
  public List<String> receivedOnContext() {
    return received.events;
  }

  /** Waits until a received frame matches. */
  public String awaitFrame(Predicate<String> p) {
    Await.until(ctx, () -> received.events.stream().anyMatch(p));
    return received().stream().filter(p).findFirst().orElseThrow();
  }

  public String awaitFrame(String prefix) {
    return awaitFrame(e -> e.startsWith(prefix));
  }

  public void awaitClosed() {
    Await.until(ctx, () -> closed);
  }

  public boolean isClosed() {
    return await(Await.on(ctx, () -> Future.succeededFuture(closed)));
  }

  public List<String> decodeErrors() {
    return decodeErrors;
  }

  /** Runs {@code r} on the session's context and waits. */
  public void run(Runnable r) {
    await(Await.on(ctx, () -> {
      r.run();
      return Future.succeededFuture();
    }));
  }
}
