package io.relaymesh.relay;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentMetrics;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.agent.tunnel.TunnelKeeper;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.testing.Waits;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real relay replicas of region {@code eu} behind one URL: a small TCP load balancer on
 * 127.0.0.1:0 (Vert.x NetServer/NetClient, the backend of each connection chosen by the test)
 * that both replicas register as their public URL, a real control plane and the real agent with
 * {@code relay-count} 2. The relay names itself in the upgrade answer ({@code Relaymesh-Replica});
 * the agent keeps its two tunnels on distinct replicas, closes and re-dials a tunnel that landed
 * on a replica it already holds (bounded), and with one replica reachable settles on one tunnel.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(180)
class AgentLoadBalancerTest {

  @TempDir
  static Path dir;
  static Control control;
  static Vertx vertx;
  static String alice;
  static String agentToken;
  static LoadBalancer lb;
  static RelayServer a;
  static RelayServer b;

  Agent agent;

  @BeforeEach
  void resetBalancer() {
    lb.connections.set(0);
  }

  @BeforeAll
  static void start() throws Exception {
    control = Control.start(Control.relayTestConfig(dir.resolve("control"),
        Duration.ofSeconds(3)));
    String admin = control.setupAdmin();
    String euToken = control.createRegion(admin, "eu");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    lb = new LoadBalancer(vertx);
    String publicUrl = "https://127.0.0.1:" + lb.port();
    // one certificate for both replicas, as behind a real load balancer (same state directory)
    a = await(RelayServer.start(vertx, relay("eu-1", euToken, publicUrl)));
    b = await(RelayServer.start(vertx, relay("eu-2", euToken, publicUrl)));
    assertThat(b.fingerprint()).isEqualTo(a.fingerprint());
    await(a.firstRegistration());
    await(b.firstRegistration());
    lb.backends = List.of(a.port(), b.port());
    alice = control.createUser(admin, "alice");
    agentToken = control.createWorkspace(alice, "dev").getString("agentToken");
  }

  @AfterAll
  static void stop() {
    if (b != null) {
      b.stop();
    }
    if (a != null) {
      a.stop();
    }
    if (lb != null) {
      lb.close();
    }
    if (vertx != null) {
      await(vertx.close());
    }
    if (control != null) {
      control.close();
    }
  }

  @AfterEach
  void closeAgent() {
    if (agent != null) {
      await(agent.close());
      agent = null;
    }
    Waits.until("no agent tunnel left on the relays", Duration.ofSeconds(20),
        () -> a.agents().tunnelCount() == 0 && b.agents().tunnelCount() == 0);
  }

  static RelayConfig relay(String replica, String token, String publicUrl) {
    return RelayConfig.defaults().withControl(control.server.url(), token, "eu")
        .withReplicaId(replica).withListen("127.0.0.1:0").withPublicUrl(publicUrl)
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("tls")))
        .withAgentAuthTtl(Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  Agent startAgent() {
    AgentConfig config = AgentConfig.defaults().withCredentials(control.server.url(), agentToken)
        .withTrust(null, a.fingerprint())
        .withStateDir(dir.resolve("agent-state"))
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(500));
    AgentOptions options = AgentOptions.defaults().withEnvironment(Map.of())
        .withSsh(SshServerOptions.defaults().withHome(dir));
    agent = await(Agent.start(vertx, config, options), 60);
    return agent;
  }

  static double sameReplica(Agent agent) {
    return agent.metrics().metrics().registry().get("relaymesh.agent.reconnects")
        .tag("reason", AgentMetrics.RECONNECT_SAME_REPLICA).counter().count();
  }

  static List<String> presence() {
    JsonArray relays = control.http.get("/api/v1/workspaces/alice/dev", alice).json()
        .getJsonArray("agents").getJsonObject(0).getJsonArray("relays");
    List<String> out = new ArrayList<>();
    relays.forEach(o -> out.add(((JsonObject) o).getString("region") + "/"
        + ((JsonObject) o).getString("replicaId")));
    out.sort(null);
    return out;
  }

  static void assertDocumented(Agent agent) {
    assertThat(MetricsDoc.load().undocumented(agent.metrics().metrics().scrape())).isEmpty();
    assertThat(MetricsDoc.load().undocumented(a.metrics().scrape())).isEmpty();
  }

  @Test
  void upgradeAnswerNamesTheReplica() {
    lb.policy = n -> n % 2;
    TunnelDialer dialer = TunnelDialer.create(vertx, DialOptions.defaults()
        .withTrust(TrustSpec.pinnedSha256(a.fingerprint())));
    Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 2; i++) {
      DialedTunnel t = await(dialer.dial(lb.url() + TunnelKeeper.TUNNEL_PATH,
          Map.of("Authorization", "Bearer " + agentToken)));
      seen.add(t.replica());
      assertThat(t.upgradeHeaders().get("relaymesh-replica")).isEqualTo(t.replica());
      await(t.session().close(ErrorCode.NO_ERROR, "test done"));
    }
    assertThat(seen).containsExactlyInAnyOrder("eu/eu-1", "eu/eu-2");
  }

  @Test
  void roundRobinGivesTwoTunnelsOnDistinctReplicas() {
    lb.policy = n -> n % 2;
    Agent agent = startAgent();
    Waits.until("tunnels on eu-1 and eu-2, have " + agent.relayReplicas(), Duration.ofSeconds(30),
        () -> Set.copyOf(agent.relayReplicas()).equals(Set.of("eu/eu-1", "eu/eu-2")));
    assertThat(agent.relayUrls()).containsOnly(lb.url() + TunnelKeeper.TUNNEL_PATH);
    Waits.until("one agent tunnel per replica, have " + a.agents().tunnelCount() + " and "
        + b.agents().tunnelCount(), Duration.ofSeconds(20),
        () -> a.agents().tunnelCount() == 1 && b.agents().tunnelCount() == 1);
    assertThat(lb.connections.get()).isEqualTo(2);
    Waits.until("presence on both replicas, have " + presence(), Duration.ofSeconds(20),
        () -> presence().equals(List.of("eu/eu-1", "eu/eu-2")));
    assertThat(sameReplica(agent)).isZero();
    assertDocumented(agent);
  }

  @Test
  void firstTwoDialsOnOneReplicaAreDetectedAndRedialed() {
    AtomicInteger later = new AtomicInteger();
    lb.policy = n -> n < 2 ? 0 : later.getAndIncrement() % 2 == 0 ? 1 : 0;
    Agent agent = startAgent();
    Waits.until("tunnels on eu-1 and eu-2, have " + agent.relayReplicas(), Duration.ofSeconds(30),
        () -> Set.copyOf(agent.relayReplicas()).equals(Set.of("eu/eu-1", "eu/eu-2")));
    assertThat(sameReplica(agent)).isEqualTo(1.0);
    // the duplicate on eu-1 was closed: one tunnel per replica, the relays agree
    Waits.until("one agent tunnel per replica, have " + a.agents().tunnelCount() + " and "
        + b.agents().tunnelCount(), Duration.ofSeconds(20),
        () -> a.agents().tunnelCount() == 1 && b.agents().tunnelCount() == 1);
    Waits.until("presence on both replicas, have " + presence(), Duration.ofSeconds(20),
        () -> presence().equals(List.of("eu/eu-1", "eu/eu-2")));
    assertThat(lb.connections.get()).isEqualTo(3);
    assertDocumented(agent);
  }

  @Test
  void oneReachableReplicaSettlesOnOneTunnelWithoutAHotLoop() throws Exception {
    lb.policy = n -> 0; // eu-2 is registered but the balancer never sends anything there
    Agent agent = startAgent();
    Waits.until("a tunnel on eu-1", Duration.ofSeconds(30),
        () -> agent.relayReplicas().equals(List.of("eu/eu-1")));
    Waits.until("the bounded re-dials are done", Duration.ofSeconds(20),
        () -> sameReplica(agent) >= TunnelKeeper.SAME_REPLICA_ATTEMPTS);
    Thread.sleep(3_000); // well below the short re-check (5 .. 10 s): nothing more may happen
    assertThat(sameReplica(agent)).isEqualTo(TunnelKeeper.SAME_REPLICA_ATTEMPTS);
    assertThat(lb.connections.get()).isEqualTo(1 + TunnelKeeper.SAME_REPLICA_ATTEMPTS);
    assertThat(agent.relayReplicas()).containsExactly("eu/eu-1");
    Waits.until("one agent tunnel on eu-1", Duration.ofSeconds(20),
        () -> a.agents().tunnelCount() == 1);
    assertThat(b.agents().tunnelCount()).isZero();
    // the next re-check tries again, as boundedly
    Waits.until("a second round after the short re-check", Duration.ofSeconds(20),
        () -> sameReplica(agent) >= 2 * TunnelKeeper.SAME_REPLICA_ATTEMPTS);
    Thread.sleep(1_000);
    assertThat(sameReplica(agent)).isEqualTo(2 * TunnelKeeper.SAME_REPLICA_ATTEMPTS);
    assertThat(agent.relayReplicas()).containsExactly("eu/eu-1");
    assertDocumented(agent);
  }

  /**
   * A TCP load balancer: every accepted connection is piped to the backend port chosen by
   * {@link #policy} from the connection's index (0, 1, ...). Closed with the test.
   */
  static final class LoadBalancer {
    final NetServer server;
    final NetClient client;
    final AtomicInteger connections = new AtomicInteger();
    final List<NetSocket> open = new CopyOnWriteArrayList<>();
    volatile List<Integer> backends = List.of();
    volatile IntUnaryOperator policy = n -> 0;
    private final int port;

    LoadBalancer(Vertx vertx) {
      client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5_000));
      server = vertx.createNetServer().connectHandler(in -> {
        int n = connections.getAndIncrement();
        int backend = backends.get(policy.applyAsInt(n));
        in.pause();
        open.add(in);
        in.closeHandler(v -> open.remove(in));
        client.connect(backend, "127.0.0.1").onComplete(ar -> {
          if (ar.failed()) {
            in.close();
            return;
          }
          NetSocket out = ar.result();
          open.add(out);
          out.closeHandler(v -> {
            open.remove(out);
            in.close();
          });
          in.closeHandler(v -> {
            open.remove(in);
            out.close();
          });
          in.pipeTo(out);
          out.pipeTo(in);
        });
      });
      port = await(server.listen(0, "127.0.0.1")).actualPort();
    }

    int port() {
      return port;
    }

    String url() {
      return "wss://127.0.0.1:" + port;
    }

    void close() {
      await(server.close());
      open.forEach(NetSocket::close);
      await(client.close());
    }
  }

}
