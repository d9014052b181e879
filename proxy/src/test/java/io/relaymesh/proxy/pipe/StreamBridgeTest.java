package io.relaymesh.proxy.pipe;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.testutil.Streams;
import io.relaymesh.proxy.testutil.Tunnels;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * End to end like {@code relaymesh port-forward}: a local TCP client → "relay side" NetServer →
 * stream over a TLS WebSocket tunnel → "agent side" NetClient → TCP target. Sockets and
 * sessions are on different event loops, so the pipes cross contexts.
 */
@Timeout(60)
class StreamBridgeTest {
  static Vertx vertx;
  static final TunnelConfig CFG = TunnelConfig.defaults();

  @BeforeAll
  static void start() {
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  /** Agent side: connect the OPEN target over TCP, accept, bridge. */
  static Handler<Stream> agent(NetClient tcp) {
    return agent(tcp, new CompletableFuture<>());
  }

  /** A blocking TCP client: writes everything while reading the same amount back. */
  private static byte[] exchange(int port, byte[] data) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          OutputStream out = socket.getOutputStream();
          for (int i = 0; i < data.length; i += 100_000) {
            out.write(data, i, Math.min(100_000, data.length - i));
          }
          out.flush();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      byte[] got = new byte[data.length];
      InputStream in = socket.getInputStream();
      int n = 0;
      while (n < got.length) {
        int r = in.read(got, n, got.length - n);
        if (r < 0) {
          return java.util.Arrays.copyOf(got, n);
        }
        n += r;
      }
      writer.get(30, TimeUnit.SECONDS);
      return got;
    }
  }

  @Test
  void tcpThroughTheTunnelIsByteExactAcrossEventLoops() throws Exception {
    NetServer target = vertx.createNetServer().connectHandler(so -> so.pipeTo(so));
    await(target.listen(0, "127.0.0.1"));
    NetClient tcp = vertx.createNetClient();
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp))) {
      NetServer local = vertx.createNetServer().connectHandler(so -> {
        so.pause();
        t.client.open(WireSpec.KIND_TCP, "127.0.0.1:" + target.actualPort(), null)
            .onSuccess(st -> {
              StreamBridge.bridge(st, so);
              so.resume();
            })
            .onFailure(e -> so.close());
      });
      await(local.listen(0, "127.0.0.1"));
      byte[] data = Streams.random(5, 12 * 1024 * 1024 + 3).getBytes();
      io.relaymesh.proxy.testutil.Bytes.assertSame(data, exchange(local.actualPort(), data));
      assertThat(t.clientMetrics.bytesOut()).isEqualTo(data.length);
      assertThat(t.clientMetrics.bytesIn()).isEqualTo(data.length);
      await(local.close());
    } finally {
      await(tcp.close());
      await(target.close());
    }
  }

  @Test
  void streamFinBecomesTcpShutdownOutputAndTheReplyStillArrives() throws Exception {
    // target: reads until EOF (our half-close), then answers with the byte count and closes
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
        try (Socket s = listener.accept()) {
          s.setSoTimeout(30_000);
          long count = 0;
          byte[] buf = new byte[65536];
          for (int r; (r = s.getInputStream().read(buf)) >= 0; ) {
            count += r;
          }
          s.getOutputStream().write(("read " + count).getBytes());
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      NetClient tcp = vertx.createNetClient();
      try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp))) {
        String target = "127.0.0.1:" + listener.getLocalPort();
        io.vertx.core.buffer.Buffer reply = await(Streams.exchange(t.client, target,
            Streams.random(9, 3_000_000)));
        assertThat(reply.toString()).isEqualTo("read 3000000");
        server.get(30, TimeUnit.SECONDS);
      } finally {
        await(tcp.close());
      }
    }
  }

  /**
   * A target that writes a large response and closes (HTTP/1.0, {@code cat file | nc -l}) while
   * the reader on the other end of the tunnel is slow: the agent-side socket is paused by
   * back-pressure when it closes, so bytes are still queued in the socket and in the stream.
   * Every byte must arrive, followed by a clean FIN (no RESET), and the bridge must report a
   * normal end.
   */
  @Test
  void targetThatWritesThenClosesDeliversEveryByteToASlowReader() throws Exception {
    byte[] data = Streams.random(11, 2 * 1024 * 1024).getBytes();
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
        try (Socket s = listener.accept()) {
          s.getOutputStream().write(data);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      NetClient tcp = vertx.createNetClient();
      CompletableFuture<io.vertx.core.AsyncResult<Void>> bridged = new CompletableFuture<>();
      Handler<Stream> agent = s -> {
        String[] hp = s.target().split(":");
        tcp.connect(Integer.parseInt(hp[1]), hp[0]).onSuccess(so -> s.accept().onSuccess(
            st -> StreamBridge.bridge(st, so).onComplete(bridged::complete)));
      };
      try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent)) {
        Stream st = await(t.client.open(WireSpec.KIND_TCP,
            "127.0.0.1:" + listener.getLocalPort(), null));
        io.vertx.core.buffer.Buffer got = io.vertx.core.buffer.Buffer.buffer();
        CompletableFuture<String> ended = new CompletableFuture<>();
        st.pause();
        st.handler(got::appendBuffer);
        st.endHandler(v -> ended.complete("fin"));
        st.exceptionHandler(e -> ended.complete("reset: " + e.getMessage()));
        server.get(30, TimeUnit.SECONDS); // the target has written everything and closed
        Thread.sleep(300); // (test thread, not an event loop) let the close reach the agent
        st.resume();
        assertThat(ended.get(30, TimeUnit.SECONDS)).isEqualTo("fin");
        io.relaymesh.proxy.testutil.Bytes.assertSame(data, got.getBytes());
        st.end();
        io.vertx.core.AsyncResult<Void> result = bridged.get(30, TimeUnit.SECONDS);
        assertThat(result.succeeded())
            .as("bridge result %s", result.failed() ? result.cause() : "ok").isTrue();
      } finally {
        await(tcp.close());
      }
    }
  }

  /** Bytes sent to a target that has closed are answered with a RESET, as TCP answers RST. */
  @Test
  void bytesSentAfterTheTargetClosedResetTheStream() throws Exception {
    NetServer target = vertx.createNetServer().connectHandler(so -> so.end(
        io.vertx.core.buffer.Buffer.buffer("bye")));
    await(target.listen(0, "127.0.0.1"));
    NetClient tcp = vertx.createNetClient();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> bridged = new CompletableFuture<>();
    Handler<Stream> agent = s -> tcp.connect(target.actualPort(), "127.0.0.1").onSuccess(
        so -> s.accept().onSuccess(st -> StreamBridge.bridge(st, so).onComplete(bridged::complete)));
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent)) {
      Stream st = await(t.client.open(WireSpec.KIND_TCP, "127.0.0.1:" + target.actualPort(), null));
      io.vertx.core.buffer.Buffer got = io.vertx.core.buffer.Buffer.buffer();
      CompletableFuture<Void> fin = new CompletableFuture<>();
      CompletableFuture<Throwable> reset = new CompletableFuture<>();
      st.handler(got::appendBuffer);
      st.endHandler(v -> fin.complete(null));
      st.exceptionHandler(reset::complete);
      fin.get(30, TimeUnit.SECONDS);
      assertThat(got.toString()).isEqualTo("bye");
      // the target's FIN is a half-close as far as anyone can tell: the first bytes sent after
      // it are written; the target's kernel answers them with RST, and a write after that fails
      // (as it would for a direct TCP client)
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!reset.isDone() && System.nanoTime() < deadline) {
        st.write(io.vertx.core.buffer.Buffer.buffer("late"));
        Thread.sleep(20); // (test thread) let the RST come back between writes
      }
      assertThat(reset.get(30, TimeUnit.SECONDS)).isInstanceOfSatisfying(
          io.relaymesh.proxy.session.StreamResetException.class, r -> {
            assertThat(r.code()).isEqualTo(ErrorCode.CANCEL);
            assertThat(r.reason()).contains("target closed the connection");
          });
      assertThat(bridged.get(30, TimeUnit.SECONDS).failed()).isTrue();
    } finally {
      await(tcp.close());
      await(target.close());
    }
  }

  /**
   * A transfer cut by a failure on the far side (here the target aborts with RST; in production a
   * relay or agent that dies) must reach the local client as a reset, never as the EOF of a
   * normal close: with an EOF, a download cut short would look complete.
   */
  @Test
  void aStreamResetReachesTheLocalClientAsAConnectionResetNotAnEof() throws Exception {
    NetClient tcp = vertx.createNetClient();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> agentSide = new CompletableFuture<>();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> localSide = new CompletableFuture<>();
    byte[] part = Streams.random(23, 200_000).getBytes();
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
            java.net.InetAddress.getLoopbackAddress());
        Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp, agentSide))) {
      CompletableFuture<Void> target = serve(listener, s -> {
        s.getOutputStream().write(part);
        s.getOutputStream().flush();
        Thread.sleep(300); // (target thread) let the part travel before the abort
        s.setSoLinger(true, 0); // close = RST: the target fails mid-transfer
        return null;
      });
      NetServer local = forwarder(t, listener.getLocalPort(), localSide);
      try (Socket c = new Socket("127.0.0.1", local.actualPort())) {
        c.setSoTimeout(30_000);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Throwable ended = null;
        try {
          got.write(readToEof(c.getInputStream()));
        } catch (java.io.IOException e) {
          ended = e;
        }
        assertThat(ended).as("the client must see a reset, not an EOF").isInstanceOf(
            java.net.SocketException.class);
        assertThat(ended.getMessage()).contains("reset");
      }
      target.get(30, TimeUnit.SECONDS);
      assertThat(localSide.get(30, TimeUnit.SECONDS).failed()).isTrue();
      await(local.close());
    } finally {
      await(tcp.close());
    }
  }

  /**
   * A target that answers in full (FIN), then resets because the client is still sending (like an
   * HTTP server refusing an upload with 413 and closing): the stream's FIN came before its RESET,
   * so the answer is complete and the local client must get all of it and an EOF, not a reset
   * that throws away what was still queued for it.
   */
  @Test
  void aResetAfterTheStreamsFinStillDeliversTheCompleteAnswer() throws Exception {
    NetClient tcp = vertx.createNetClient();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> agentSide = new CompletableFuture<>();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> localSide = new CompletableFuture<>();
    byte[] answer = Streams.random(29, 1_500_000).getBytes();
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
            java.net.InetAddress.getLoopbackAddress());
        Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp, agentSide))) {
      CompletableFuture<Void> target = serve(listener, s -> {
        s.getInputStream().read(new byte[16]);
        s.getOutputStream().write(answer);
        s.shutdownOutput(); // the whole answer, then FIN
        Thread.sleep(300); // (target thread) let the FIN travel ahead of the reset
        s.setSoLinger(true, 0); // then RST: the client's upload is refused
        return null;
      });
      NetServer local = forwarder(t, listener.getLocalPort(), localSide);
      try (Socket c = new Socket("127.0.0.1", local.actualPort())) {
        c.setSoTimeout(30_000);
        c.getOutputStream().write("upload".getBytes());
        target.get(30, TimeUnit.SECONDS);
        Thread.sleep(1000); // (test thread) the reset reaches the local bridge before we read
        assertThat(readToEof(c.getInputStream())).isEqualTo(answer);
      }
      await(local.close());
    } finally {
      await(tcp.close());
    }
  }

  /**
   * Like {@code relaymesh port-forward}: a local listener whose connections each open a stream to
   * {@code target} and are bridged; {@code bridged} receives each local bridge's result.
   */
  private static NetServer forwarder(Tunnels t, int targetPort,
      CompletableFuture<io.vertx.core.AsyncResult<Void>> bridged) {
    NetServer local = vertx.createNetServer().connectHandler(so -> {
      StreamBridge.prepare(so);
      so.pause();
      t.client.open(WireSpec.KIND_TCP, "127.0.0.1:" + targetPort, null)
          .onSuccess(st -> {
            StreamBridge.bridge(st, so).onComplete(bridged::complete);
            so.resume();
          })
          .onFailure(e -> so.close());
    });
    await(local.listen(0, "127.0.0.1"));
    return local;
  }

  /** Agent side like {@link #agent(NetClient)}, reporting the bridge's result to {@code bridged}. */
  private static Handler<Stream> agent(NetClient tcp,
      CompletableFuture<io.vertx.core.AsyncResult<Void>> bridged) {
    return s -> {
      String[] hp = s.target().split(":");
      tcp.connect(Integer.parseInt(hp[1]), hp[0]).onComplete(ar -> {
        if (ar.failed()) {
          s.reject(ErrorCode.CONNECT_REFUSED, ar.cause().getMessage());
        } else {
          StreamBridge.prepare(ar.result());
          s.accept().onSuccess(st -> StreamBridge.bridge(st, ar.result())
              .onComplete(bridged::complete));
        }
      });
    };
  }

  private static byte[] readToEof(InputStream in) throws java.io.IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    for (int r; (r = in.read(buf)) >= 0; ) {
      got.write(buf, 0, r);
    }
    return got.toByteArray();
  }

  /** One side of a test connection, on a blocking socket. */
  interface SocketAction<T> {
    T run(Socket s) throws Exception;
  }

  /** Accepts one connection on {@code listener} (30 s read timeout) and runs {@code target}. */
  private static <T> CompletableFuture<T> serve(java.net.ServerSocket listener,
      SocketAction<T> target) {
    return CompletableFuture.supplyAsync(() -> {
      try (Socket s = listener.accept()) {
        s.setSoTimeout(30_000);
        return target.run(s);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
  }

  /**
   * Connects {@code client} to {@code targetPort} through a local forwarder and the tunnel, the
   * way {@code relaymesh port-forward} does; afterwards both bridges (local accepted socket,
   * agent dialed socket) must have ended normally.
   */
  private static void throughTheTunnel(int targetPort, SocketAction<Void> client)
      throws Exception {
    NetClient tcp = vertx.createNetClient();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> agentSide = new CompletableFuture<>();
    CompletableFuture<io.vertx.core.AsyncResult<Void>> localSide = new CompletableFuture<>();
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp, agentSide))) {
      NetServer local = forwarder(t, targetPort, localSide);
      try (Socket c = new Socket("127.0.0.1", local.actualPort())) {
        c.setSoTimeout(30_000);
        client.run(c);
      }
      io.vertx.core.AsyncResult<Void> agentResult = agentSide.get(30, TimeUnit.SECONDS);
      io.vertx.core.AsyncResult<Void> localResult = localSide.get(30, TimeUnit.SECONDS);
      assertThat(agentResult.succeeded()).as("agent-side bridge: %s", agentResult.cause()).isTrue();
      assertThat(localResult.succeeded()).as("local bridge: %s", localResult.cause()).isTrue();
      await(local.close());
    } finally {
      await(tcp.close());
    }
  }

  /**
   * {@code nc -N}, HTTP/1.0-style clients: the client sends its request, shuts down its output
   * and then reads the answer, which the target sends only after reading to EOF. Through both
   * bridges the client's FIN must travel as a half-close, not close the connection.
   */
  @Test
  void clientHalfCloseStillReceivesTheAnswer() throws Exception {
    byte[] request = Streams.random(21, 1_500_000).getBytes();
    String expected = "read " + request.length + " sum " + java.util.Arrays.hashCode(request);
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> server = serve(listener, s -> {
        byte[] got = readToEof(s.getInputStream());
        s.getOutputStream().write(("read " + got.length + " sum "
            + java.util.Arrays.hashCode(got)).getBytes());
        return null;
      });
      throughTheTunnel(listener.getLocalPort(), client -> {
        client.getOutputStream().write(request);
        client.shutdownOutput();
        assertThat(new String(readToEof(client.getInputStream()))).isEqualTo(expected);
        return null;
      });
      server.get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The target half-closes first (sends a greeting and shuts down its output), then still reads
   * everything the client sends until the client's EOF.
   */
  @Test
  void targetHalfCloseStillReceivesWhatTheClientSendsAfterwards() throws Exception {
    byte[] upload = Streams.random(22, 1_200_000).getBytes();
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      CompletableFuture<byte[]> server = serve(listener, s -> {
        s.getOutputStream().write("hello".getBytes());
        s.shutdownOutput();
        return readToEof(s.getInputStream());
      });
      throughTheTunnel(listener.getLocalPort(), client -> {
        assertThat(new String(readToEof(client.getInputStream()))).isEqualTo("hello");
        client.getOutputStream().write(upload);
        client.shutdownOutput();
        io.relaymesh.proxy.testutil.Bytes.assertSame(upload, server.get(30, TimeUnit.SECONDS));
        return null;
      });
    }
  }

  /**
   * A bulk download: the target writes a lot as fast as it can and shuts down its output while
   * the client has not started reading yet, so back-pressure has paused the agent-side socket
   * (and the local one) when the target's FIN arrives. Every byte must reach the client before
   * its EOF. Repeated: the loss depended on how the FIN raced the paused socket's queues.
   */
  @Test
  void bulkDownloadThenTargetFinReachesAPausedReaderComplete() throws Exception {
    byte[] data = Streams.random(23, 24 * 1024 * 1024).getBytes();
    try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 8,
        java.net.InetAddress.getLoopbackAddress())) {
      for (int round = 0; round < 3; round++) {
        int r = round;
        CompletableFuture<byte[]> server = serve(listener, s -> {
          s.getOutputStream().write(data);
          s.shutdownOutput();
          return readToEof(s.getInputStream()); // waits for the client's FIN
        });
        throughTheTunnel(listener.getLocalPort(), client -> {
          client.setReceiveBufferSize(64 * 1024);
          // the target's whole answer is in flight before the client reads anything
          Thread.sleep(500); // (test thread) lets back-pressure build up on every hop
          byte[] got = readToEof(client.getInputStream());
          assertThat(got.length).as("round %d: bytes received", r).isEqualTo(data.length);
          io.relaymesh.proxy.testutil.Bytes.assertSame(data, got);
          client.shutdownOutput();
          server.get(30, TimeUnit.SECONDS);
          return null;
        });
      }
    }
  }

  @Test
  void unreachableTargetIsRefusedWithItsReason() throws Exception {
    NetServer probe = vertx.createNetServer().connectHandler(so -> so.close());
    await(probe.listen(0, "127.0.0.1"));
    int closedPort = probe.actualPort();
    await(probe.close()); // nothing listens there any more
    NetClient tcp = vertx.createNetClient();
    try (Tunnels t = Tunnels.webSocket(vertx, CFG, CFG, agent(tcp))) {
      Throwable e = io.relaymesh.proxy.testutil.Await.failure(
          t.client.open(WireSpec.KIND_TCP, "127.0.0.1:" + closedPort, null));
      assertThat(e).isInstanceOfSatisfying(io.relaymesh.proxy.session.StreamRefusedException.class,
          r -> assertThat(r.code()).isEqualTo(ErrorCode.CONNECT_REFUSED));
    } finally {
      await(tcp.close());
    }
  }
}
