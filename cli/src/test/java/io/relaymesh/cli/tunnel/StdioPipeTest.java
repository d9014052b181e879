package io.relaymesh.cli.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.PipeTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Promise;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** StdioPipe over a real tunnel session pair whose server side echoes every stream. */
class StdioPipeTest {

  private Vertx vertx;
  private Session client;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    Context ctx = vertx.getOrCreateContext();
    Promise<Session> made = Promise.promise();
    ctx.runOnContext(v -> {
      PipeTransport[] p = PipeTransport.pair(ctx, 256 * 1024);
      Session server = Session.create(ctx, p[1], Role.SERVER, TunnelConfig.defaults(),
          new CountingSessionMetrics());
      server.openHandler(s -> s.accept().onSuccess(st -> st.pipeTo(st)));
      made.complete(Session.create(ctx, p[0], Role.CLIENT, TunnelConfig.defaults(),
          new CountingSessionMetrics()));
    });
    client = await(made.future());
    await(client.ready());
  }

  private Stream open() throws Exception {
    Promise<Stream> p = Promise.promise();
    client.context().runOnContext(v -> client.open(WireSpec.KIND_TCP, "echo", null).onComplete(p));
    return await(p.future());
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  @Test
  void copiesStdinThroughTheStreamToStdoutByteExact() throws Exception {
    byte[] data = new byte[8 * 1024 * 1024 + 123];
    new Random(7).nextBytes(data);
    Stream stream = open();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    // stdin EOF -> FIN -> the echo ends its side -> the pipe completes once stdout has it all
    await(StdioPipe.start(client.context(), stream, stream, new ByteArrayInputStream(data), out));
    assertThat(MessageDigest.getInstance("SHA-256").digest(out.toByteArray()))
        .isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
  }

  @Test
  void aSlowStdoutPausesTheStreamInsteadOfBuffering() throws Exception {
    // stdout blocks until the test reads it: the writer must stop pulling from the socket
    PipedInputStream reader = new PipedInputStream(64 * 1024);
    PipedOutputStream stdout = new PipedOutputStream(reader);
    byte[] data = new byte[16 * 1024 * 1024];
    new Random(3).nextBytes(data);
    Stream stream = open();
    Future<Void> done = StdioPipe.start(client.context(), stream, stream,
        new ByteArrayInputStream(data), stdout);
    byte[] got = reader.readNBytes(data.length);
    assertThat(got).isEqualTo(data);
    await(done);
  }

  @Test
  void stdoutFailureFailsThePipe() throws Exception {
    Stream stream = open();
    OutputStream broken = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        throw new IOException("Broken pipe");
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        throw new IOException("Broken pipe");
      }
    };
    Future<Void> done = StdioPipe.start(client.context(), stream, stream,
        new ByteArrayInputStream(new byte[1000]), broken);
    assertThat(done.toCompletionStage().toCompletableFuture()).failsWithin(10, TimeUnit.SECONDS)
        .withThrowableThat().withMessageContaining("writing stdout: Broken pipe");
  }

  /**
   * ssh keeps typing after the tunnel was lost and Vert.x closed: the stdin thread must end
   * quietly, not die with a RejectedExecutionException whose stack trace lands on ssh's stderr.
   */
  @Test
  void stdinAfterVertxClosedEndsTheReaderQuietly() throws Exception {
    PipedInputStream stdin = new PipedInputStream(1024);
    PipedOutputStream typing = new PipedOutputStream(stdin);
    Stream stream = open();
    java.util.List<Throwable> uncaught = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try {
      StdioPipe.start(client.context(), stream, stream, stdin, new ByteArrayOutputStream());
      Thread reader = null;
      for (int i = 0; i < 500 && reader == null; i++) {
        reader = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().equals("relaymesh-stdin")).findFirst().orElse(null);
        Thread.sleep(10); // (test thread) the pipe starts its reader on the context
      }
      assertThat(reader).as("the stdin reader thread").isNotNull();
      await(vertx.close());
      typing.write("late\n".getBytes());
      typing.flush();
      reader.join(10_000);
      assertThat(reader.isAlive()).as("reader still running").isFalse();
      assertThat(uncaught).isEmpty();
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(previous);
      typing.close();
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
