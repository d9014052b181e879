package io.relaymesh.cli.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.relaymesh.proxy.transport.PipeTransport;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Port forwarding through a real tunnel session pair whose far side dials loopback targets the
 * way an agent does; the target is a real TCP echo server.
 */
class PortForwarderTest {

  private Vertx vertx;
  private NetServer echo;
  private final AtomicInteger dials = new AtomicInteger();
  private final List<String> targets = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    echo = vertx.createNetServer().connectHandler(s -> s.pipeTo(s));
    await(echo.listen(0, "127.0.0.1"));
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  /** A client session whose peer accepts TCP opens by dialing the target on loopback. */
  private Future<Session> dial() {
    dials.incrementAndGet();
    Context ctx = vertx.getOrCreateContext();
    NetClient net = vertx.createNetClient();
    Promise<Session> made = Promise.promise();
    ctx.runOnContext(v -> {
      PipeTransport[] p = PipeTransport.pair(ctx, 256 * 1024);
      Session far = Session.create(ctx, p[1], Role.SERVER, TunnelConfig.defaults(),
          new CountingSessionMetrics());
      far.openHandler(st -> {
        synchronized (targets) {
          targets.add(st.target());
        }
        int port = Integer.parseInt(st.target().substring(st.target().lastIndexOf(':') + 1));
        net.connect(port, "127.0.0.1").onSuccess(sock -> st.accept()
            .onSuccess(open -> StreamBridge.bridge(open, sock)))
            .onFailure(e -> st.reject(ErrorCode.CONNECT_REFUSED,
                "connection refused on " + st.target()));
      });
      Session near = Session.create(ctx, p[0], Role.CLIENT, TunnelConfig.defaults(),
          new CountingSessionMetrics());
      near.ready().map(near).onComplete(made);
    });
    return made.future();
  }

  @Test
  void twoHundredConcurrentConnectionsAreEchoedByteExact() throws Exception {
    PortForwarder fwd = new PortForwarder(vertx, this::dial, port -> null);
    int local = await(fwd.start(List.of(
        PortForwarder.Mapping.parse("127.0.0.1:0:" + echo.actualPort())))).get(0);
    NetClient client = vertx.createNetClient();
    List<Future<Boolean>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      byte[] data = new byte[64 * 1024];
      new Random(i).nextBytes(data);
      all.add(client.connect(local, "127.0.0.1").compose(sock -> {
        Promise<Boolean> same = Promise.promise();
        Buffer got = Buffer.buffer();
        sock.handler(b -> {
          got.appendBuffer(b);
          if (got.length() >= data.length) {
            same.tryComplete(java.util.Arrays.equals(got.getBytes(), data));
            sock.close();
          }
        });
        sock.closeHandler(v -> same.tryFail("closed after " + got.length() + " bytes"));
        sock.write(Buffer.buffer(data));
        return same.future();
      }));
    }
    for (Future<Boolean> f : all) {
      assertThat(await(f)).isTrue();
    }
    assertThat(dials.get()).as("one tunnel session carries every connection").isEqualTo(1);
    assertThat(targets).hasSize(200).allMatch(t -> t.equals("127.0.0.1:" + echo.actualPort()));
    await(fwd.close());
  }

  @Test
  void aClosedRemotePortClosesTheLocalConnection() throws Exception {
    NetServer closed = vertx.createNetServer().connectHandler(s -> s.close());
    int deadPort = await(closed.listen(0, "127.0.0.1")).actualPort();
    await(closed.close());
    PortForwarder fwd = new PortForwarder(vertx, this::dial, port -> null);
    int local = await(fwd.start(List.of(PortForwarder.Mapping.parse("0:" + deadPort)))).get(0);
    Promise<Void> closedLocally = Promise.promise();
    await(vertx.createNetClient().connect(local, "127.0.0.1")).closeHandler(closedLocally::tryComplete);
    await(closedLocally.future());
    await(fwd.close());
  }

  /**
   * {@code nc -N} / HTTP/1.0 style: the client sends, shuts down its output, then reads the
   * answer the target sends only after reading to EOF. The client's FIN must be a half-close
   * through the forward, not a close.
   */
  @Test
  void aClientThatHalfClosesStillGetsTheAnswer() throws Exception {
    byte[] request = new byte[700_000];
    new Random(7).nextBytes(request);
    try (java.net.ServerSocket target = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      java.util.concurrent.CompletableFuture<Void> server =
          java.util.concurrent.CompletableFuture.runAsync(() -> {
            try (java.net.Socket s = target.accept()) {
              s.setSoTimeout(30_000);
              byte[] got = s.getInputStream().readAllBytes();
              s.getOutputStream().write(("read " + got.length + " same "
                  + java.util.Arrays.equals(got, request)).getBytes());
            } catch (Exception e) {
              throw new RuntimeException(e);
            }
          });
      PortForwarder fwd = new PortForwarder(vertx, this::dial, port -> null);
      int local = await(fwd.start(List.of(
          PortForwarder.Mapping.parse("127.0.0.1:0:" + target.getLocalPort())))).get(0);
      try (java.net.Socket client = new java.net.Socket("127.0.0.1", local)) {
        client.setSoTimeout(30_000);
        client.getOutputStream().write(request);
        client.shutdownOutput();
        assertThat(new String(client.getInputStream().readAllBytes()))
            .isEqualTo("read " + request.length + " same true");
      }
      server.get(30, TimeUnit.SECONDS);
      await(fwd.close());
    }
  }

  @Test
  void mappingsParseStrictly() {
    assertThat(PortForwarder.Mapping.parse("8080:3000"))
        .isEqualTo(new PortForwarder.Mapping("127.0.0.1", 8080, 3000));
    assertThat(PortForwarder.Mapping.parse("[::1]:8080:22"))
        .isEqualTo(new PortForwarder.Mapping("::1", 8080, 22));
    assertThatThrownBy(() -> PortForwarder.Mapping.parse("8080"))
        .hasMessage("--tcp 8080: expected LOCAL:REMOTE or BIND:LOCAL:REMOTE, e.g. 8080:3000");
    assertThatThrownBy(() -> PortForwarder.Mapping.parse("8080:70000"))
        .hasMessage("--tcp 8080:70000: remote port 70000 is out of range 1..65535");
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
