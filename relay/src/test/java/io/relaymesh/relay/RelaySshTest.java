package io.relaymesh.relay;

import io.relaymesh.proxy.testutil.Await;
import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.ssh.AgentSshServer;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.TestClient;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * SSH through the relay to the agent's real built-in SSH server: a local listener (like
 * {@code relaymesh ssh --stdio}) opens an {@code SSH} stream on a client session with a port-22
 * ticket for each TCP connection; a real SSH client (Apache MINA) runs a command over it.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(90)
class RelaySshTest {

  @TempDir
  static Path dir;
  static RelayFixture fx;
  static AgentSshServer sshd;
  static TestAgent agent;
  static String alice;

  @BeforeAll
  static void start() throws Exception {
    fx = new RelayFixture(dir);
    alice = fx.user("alice");
    String token = fx.workspace(alice, "dev");
    sshd = AgentSshServer.create(dir.resolve("ssh"), SshServerOptions.defaults()
        .withShell("/bin/sh").withHome(dir));
    agent = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(), token, sshd));
  }

  @AfterAll
  static void stop() {
    if (agent != null) {
      agent.close();
    }
    if (sshd != null) {
      sshd.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  @Test
  void sshCommandRunsThroughTheRelay() throws Exception {
    String ticket = fx.ticket(alice, "dev", 22).getString("ticket");
    TestClient client = await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        ticket));
    Session session = client.session;
    NetServer local = fx.vertx.createNetServer().connectHandler(socket -> {
      socket.pause();
      session.open(WireSpec.KIND_SSH, "", Buffer.buffer()).onComplete(ar -> {
        if (ar.failed()) {
          socket.close();
        } else {
          Stream s = ar.result();
          StreamBridge.bridge(s, socket);
          socket.resume();
        }
      });
    });
    int port = await(local.listen(0, "127.0.0.1")).actualPort();
    SshClient ssh = SshClient.setUpDefaultClient();
    ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    ssh.start();
    try (ClientSession s = ssh.connect(System.getProperty("user.name"), "127.0.0.1", port)
        .verify(20, TimeUnit.SECONDS).getSession()) {
      s.auth().verify(20, TimeUnit.SECONDS);
      String out = s.executeRemoteCommand("echo relayed-$((40+2))");
      assertThat(out.trim()).isEqualTo("relayed-42");
    } finally {
      ssh.stop();
      await(local.close());
      client.close();
    }
  }

  @Test
  void agentOpenedStreamsAreRefused() {
    Throwable e = Await.failure(agent.session.open(WireSpec.KIND_TCP,
        "127.0.0.1:1", Buffer.buffer()));
    assertThat(e).isInstanceOf(io.relaymesh.proxy.session.StreamRefusedException.class);
    assertThat(((io.relaymesh.proxy.session.StreamRefusedException) e).code())
        .isEqualTo(ErrorCode.UNSUPPORTED);
  }

  @Test
  void closingTheAgentTunnelReportsItDisconnected() {
    String bob = fx.user("bob");
    String token = fx.workspace(bob, "box");
    TestAgent a = await(TestAgent.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(), token));
    io.relaymesh.relay.testing.Waits.until("bob/box connected", Duration.ofSeconds(20),
        () -> connected(bob, "bob/box"));
    a.close();
    io.relaymesh.relay.testing.Waits.until("bob/box disconnected", Duration.ofSeconds(20),
        () -> !connected(bob, "bob/box"));
  }

  private static boolean connected(String token, String workspace) {
    return fx.control.http.get("/api/v1/workspaces/" + workspace, token).json()
        .getJsonArray("agents").getJsonObject(0).getBoolean("connected");
  }
}
