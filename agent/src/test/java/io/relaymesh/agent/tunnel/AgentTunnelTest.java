package io.relaymesh.agent.tunnel;

import static io.relaymesh.agent.tunnel.Exchanges.exchange;
import static io.relaymesh.agent.tunnel.Exchanges.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.testutil.ConnectProxy;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real {@link Agent} against a {@link TestRelay} (real TLS WebSocket, real sessions), port 0. */
@Timeout(90)
class AgentTunnelTest {
  static final String TOKEN = "rma_test-token";
  static Vertx vertx;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(20, TimeUnit.SECONDS);
  }

  AgentConfig config(TestRelay relay, String token) throws Exception {
    return AgentConfig.defaults()
        .withCredentials("http://127.0.0.1:9", token) // not asked: relay-url is explicit
        .withRelayUrl(relay.url())
        .withTrust(null, relay.fingerprint())
        .withStateDir(dir.resolve("state"))
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(400));
  }

  Agent startAgent(AgentConfig config) throws Exception {
    return Agent.start(vertx, config, AgentOptions.defaults()
            .withEnvironment(Map.of()) // no HTTPS_PROXY from the build machine
            .withSsh(SshServerOptions.defaults().withHome(dir).withShell("/bin/sh")))
        .await(30, TimeUnit.SECONDS);
  }

  /**
   * A loopback port nobody listens on. A plain {@code ServerSocket} is closed synchronously; a
   * Vert.x server's close future may complete while its listening socket still accepts, and a
   * connect then fails with "Connection reset by peer" (UNREACHABLE) instead of being refused.
   */
  static int closedPort() throws Exception {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  static StreamRefusedException refusal(Session s, int kind, String target) {
    Throwable e = null;
    try {
      exchange(s, kind, target, Buffer.buffer("x")).await(20, TimeUnit.SECONDS);
    } catch (Throwable t) {
      e = t;
    }
    assertThat(e).as("open of %s must be refused", target).isInstanceOf(StreamRefusedException.class);
    return (StreamRefusedException) e;
  }

  @Test
  void manyConcurrentTcpStreamsToLoopbackAreByteExact() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer echo = new EchoServer()) {
      Agent agent = startAgent(config(relay, TOKEN));
      try {
        Session s = relay.nextSession();
        assertThat(agent.whenConnected().await(20, TimeUnit.SECONDS))
            .isEqualTo(relay.url() + "/api/v1/tunnel/agent");
        int n = 40;
        List<Buffer> sent = new ArrayList<>();
        List<Future<Buffer>> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          Buffer data = random(i, 100 * 1024 + i);
          sent.add(data);
          String target = "127.0.0.1:" + echo.port();
          got.add(exchange(s, WireSpec.KIND_TCP, target, data));
        }
        Future.all(got).await(60, TimeUnit.SECONDS);
        for (int i = 0; i < n; i++) {
          assertThat(got.get(i).result().getBytes()).as("stream %d", i).isEqualTo(sent.get(i).getBytes());
        }
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void refusesClosedPortsNonLoopbackTargetsAndUnknownKinds() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN)) {
      Agent agent = startAgent(config(relay, TOKEN));
      try {
        Session s = relay.nextSession();
        int port = closedPort();
        StreamRefusedException closed = refusal(s, WireSpec.KIND_TCP, "127.0.0.1:" + port);
        assertThat(closed.code()).isEqualTo(ErrorCode.CONNECT_REFUSED);
        assertThat(closed.reason()).isEqualTo("connection refused on 127.0.0.1:" + port);

        for (String target : List.of("10.0.0.1:22", "localhost:22", "127.0.0.2:22", "0177.0.0.1:22",
            "[::2]:22", "127.0.0.1:22@evil.example.com:22")) {
          StreamRefusedException e = refusal(s, WireSpec.KIND_TCP, target);
          assertThat(e.code()).as(target).isEqualTo(ErrorCode.UNREACHABLE);
        }
        assertThat(refusal(s, WireSpec.KIND_TCP, "10.0.0.1:22").reason())
            .isEqualTo("target '10.0.0.1:22' is not a loopback address: this agent connects to "
                + "127.0.0.1:<port> and [::1]:<port> only");
        assertThat(refusal(s, WireSpec.KIND_TCP, "127.0.0.1:65536").reason()).contains("invalid port");
        assertThat(refusal(s, WireSpec.KIND_APP, "127.0.0.1:80").code()).isEqualTo(ErrorCode.UNSUPPORTED);
        assertThat(agent.activeStreams()).isZero();
        // the tunnel is still fine afterwards
        assertThat(s.isClosed()).isFalse();
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void sshStreamCarriesARealOpenSshConnection() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN)) {
      Agent agent = startAgent(config(relay, TOKEN));
      NetServer bridge = null;
      try {
        Session s = relay.nextSession();
        // the relay side of `relaymesh ssh --stdio`: each local connection becomes an SSH stream
        bridge = vertx.createNetServer().connectHandler(socket -> {
          socket.pause();
          s.open(WireSpec.KIND_SSH, "", Buffer.buffer("{\"user\":\"alice\"}"))
              .onSuccess(stream -> {
                StreamBridge.bridge(stream, socket);
                socket.resume();
              })
              .onFailure(e -> socket.close());
        }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
        Path knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, "relaymesh-agent " + agent.sshHostKeyOpenSsh() + "\n");
        String marker = "hello-" + new Random().nextInt(1_000_000);
        Process p = new ProcessBuilder("ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=relaymesh-agent",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-p", Integer.toString(bridge.actualPort()),
            "dev@127.0.0.1", "echo " + marker + " $((6*7))")
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectErrorStream(true).start();
        try {
          assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("ssh finished").isTrue();
          String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
          assertThat(out).as("ssh output").isEqualTo(marker + " 42\n");
          assertThat(p.exitValue()).isZero();
        } finally {
          p.destroyForcibly();
        }
      } finally {
        if (bridge != null) {
          bridge.close().await(10, TimeUnit.SECONDS);
        }
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void sshTargetForwardsSshStreamsLikeTcp() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer fakeSshd = new EchoServer()) {
      Agent agent = startAgent(config(relay, TOKEN).withSshTarget("127.0.0.1:" + fakeSshd.port()));
      try {
        assertThat(agent.sshHostKeyOpenSsh()).isNull(); // no built-in server
        Session s = relay.nextSession();
        Buffer data = random(7, 50_000);
        assertThat(exchange(s, WireSpec.KIND_SSH, "", data).await(20, TimeUnit.SECONDS).getBytes())
            .isEqualTo(data.getBytes());
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void reconnectsAfterTheRelayClosesTheTunnelAndAfterARelayRestart() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer echo = new EchoServer()) {
      Agent agent = startAgent(config(relay, TOKEN));
      try {
        Session first = relay.nextSession();
        first.close(ErrorCode.INTERNAL, "relay test closes the tunnel").await(10, TimeUnit.SECONDS);
        Session second = relay.nextSession();
        Buffer data = random(1, 10_000);
        assertThat(exchange(second, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
            .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());

        // relay process "restarts" on the same port: listener gone, live tunnels cut
        int port = relay.port();
        relay.stop();
        second.close(ErrorCode.NO_ERROR, "relay stopping").await(10, TimeUnit.SECONDS);
        Thread.sleep(300); // at least one failed attempt against the closed port
        assertThat(agent.isConnected()).isFalse();
        assertThat(agent.lastError()).isNotNull();
        relay.listen(port);
        Session third = relay.nextSession();
        assertThat(exchange(third, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
            .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());
        assertThat(agent.whenConnected().await(20, TimeUnit.SECONDS)).endsWith(":" + port + "/api/v1/tunnel/agent");
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void goAwayFromTheRelayMovesTheAgentToANewTunnelWhileOldStreamsFinish() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer echo = new EchoServer()) {
      Agent agent = startAgent(config(relay, TOKEN).withReconnect(Duration.ofMillis(50), Duration.ofSeconds(30)));
      try {
        Session old = relay.nextSession();
        // a long-lived stream on the old tunnel
        io.relaymesh.proxy.session.Stream st = old.open(WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), null)
            .await(20, TimeUnit.SECONDS);
        Buffer got = Buffer.buffer();
        io.vertx.core.Promise<Buffer> ended = io.vertx.core.Promise.promise();
        old.context().runOnContext(v -> {
          st.handler(got::appendBuffer);
          st.endHandler(x -> ended.tryComplete(got));
          st.exceptionHandler(ended::tryFail);
        });
        old.goAway(ErrorCode.NO_ERROR, "relay draining");
        Session replacement = relay.nextSession(); // dialed without waiting for the old one to end
        assertThat(old.isClosed()).isFalse();
        // the old stream still works, then ends normally
        st.write(Buffer.buffer("still here"));
        st.end();
        assertThat(ended.future().await(20, TimeUnit.SECONDS).toString()).isEqualTo("still here");
        Buffer data = random(3, 5_000);
        assertThat(exchange(replacement, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
            .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void rejectedTokenIsLoggedAndRetriedAtTheCap() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN)) {
      Agent agent = startAgent(config(relay, "rma_wrong").withReconnect(Duration.ofMillis(50), Duration.ofMillis(300)));
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (relay.rejected.get() < 3 && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(relay.rejected.get()).as("attempts rejected by the relay").isGreaterThanOrEqualTo(3);
        assertThat(agent.lastError()).isEqualTo("agent token rejected by relay " + relay.url()
            + "/api/v1/tunnel/agent (HTTP 401: agent token is not valid)");
        assertThat(agent.isConnected()).isFalse();
        assertThat(relay.sessions).isEmpty();
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void tunnelGoesThroughHttpsProxyUnlessNoProxyListsTheRelay() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); ConnectProxy proxy = new ConnectProxy(vertx);
        EchoServer echo = new EchoServer()) {
      Agent agent = Agent.start(vertx, config(relay, TOKEN), AgentOptions.defaults()
              .withEnvironment(Map.of("HTTPS_PROXY", "http://127.0.0.1:" + proxy.port(), "NO_PROXY", "example.com"))
              .withSsh(SshServerOptions.defaults().withHome(dir)))
          .await(30, TimeUnit.SECONDS);
      try {
        Session s = relay.nextSession();
        assertThat(proxy.connects).containsExactly("127.0.0.1:" + relay.port());
        Buffer data = random(11, 64 * 1024);
        assertThat(exchange(s, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data).await(20, TimeUnit.SECONDS)
            .getBytes()).isEqualTo(data.getBytes());
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
      Agent direct = Agent.start(vertx, config(relay, TOKEN), AgentOptions.defaults()
              .withEnvironment(Map.of("https_proxy", "127.0.0.1:" + proxy.port(), "no_proxy", "127.0.0.1"))
              .withSsh(SshServerOptions.defaults().withHome(dir)))
          .await(30, TimeUnit.SECONDS);
      try {
        relay.nextSession();
        assertThat(proxy.connects).hasSize(1); // still only the first agent's CONNECT
      } finally {
        direct.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void closeSendsGoAwayAndLetsARunningStreamFinish() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer echo = new EchoServer()) {
      Agent agent = startAgent(config(relay, TOKEN));
      Session s = relay.nextSession();
      io.relaymesh.proxy.session.Stream st = s.open(WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), null)
          .await(20, TimeUnit.SECONDS);
      io.vertx.core.Promise<Buffer> ended = io.vertx.core.Promise.promise();
      Buffer got = Buffer.buffer();
      s.context().runOnContext(v -> {
        st.handler(got::appendBuffer);
        st.endHandler(x -> ended.tryComplete(got));
        st.exceptionHandler(ended::tryFail);
      });
      Future<Void> closing = agent.close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!s.isGoingAway() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(s.isGoingAway()).as("relay saw the agent's GOAWAY").isTrue();
      st.end(Buffer.buffer("last words"));
      assertThat(ended.future().await(20, TimeUnit.SECONDS).toString()).isEqualTo("last words");
      closing.await(20, TimeUnit.SECONDS);
      assertThat(agent.isConnected()).isFalse();
      s.closeFuture().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void invalidConfigurationFailsStart() {
    AgentConfig bad = AgentConfig.defaults().withCredentials("http://127.0.0.1:9", null)
        .withStateDir(dir).withRelayUrl("http://relay");
    assertThatThrownBy(() -> Agent.start(vertx, bad).await(10, TimeUnit.SECONDS))
        .hasMessageContaining("agent.token: required")
        .hasMessageContaining("agent.relay-url");
  }
}
