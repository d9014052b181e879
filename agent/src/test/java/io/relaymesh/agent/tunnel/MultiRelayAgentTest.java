package io.relaymesh.agent.tunnel;

import static io.relaymesh.agent.tunnel.ControlPlaneDiscoveryTest.call;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.ControlServer;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent with {@code relay-count} 2 against a real control plane that lists three relays (one
 * replica in each of {@code eu}, {@code us}, {@code ap}; test relays built from the real tunnel
 * pieces, answering {@code /latency-check}): it holds tunnels to two distinct relays, replaces one
 * that sends GOAWAY by the third before the old tunnel is gone, and with a pinned region holds a
 * single tunnel to that region's relay; measured again periodically, it moves a tunnel only to a
 * relay that has become much nearer ({@code /latency-check} answers delayed by the test relays).
 */
@Timeout(150)
class MultiRelayAgentTest {

  Vertx vertx;
  ControlServer control;
  final List<TestRelay> relays = new ArrayList<>();
  EchoServer echo;
  AgentConfig config;
  AgentOptions options;

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    echo = new EchoServer();
    control = ControlServer.start(vertx, ControlConfig.defaults().withListen("127.0.0.1:0")
        .withDataDir(dir.resolve("control"))).await(120, TimeUnit.SECONDS);
    String cp = control.url();
    call(cp, "POST", "/api/v1/setup", null, new JsonObject().put("username", "admin")
        .put("password", "correct horse battery"), 201);
    String admin = call(cp, "POST", "/api/v1/login", null, new JsonObject().put("username", "admin")
        .put("password", "correct horse battery"), 200).getString("token");
    String agentToken = call(cp, "POST", "/api/v1/workspaces", admin, new JsonObject().put("name", "dev"), 201)
        .getString("agentToken");
    for (String region : List.of("eu", "us", "ap")) {
      String relayToken = call(cp, "POST", "/api/v1/relays", admin, new JsonObject().put("region", region), 201)
          .getString("relayToken");
      TestRelay relay = new TestRelay(vertx, agentToken);
      relays.add(relay);
      call(cp, "POST", "/api/v1/relay/register", relayToken, new JsonObject().put("replicaId", region + "-1")
          .put("publicUrl", "https://127.0.0.1:" + relay.port()), 200);
    }
    config = AgentConfig.defaults().withCredentials(cp, agentToken)
        .withTrust(null, relays.get(0).fingerprint()) // one certificate for all test relays
        .withStateDir(dir.resolve("state"))
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(500));
    options = AgentOptions.defaults().withEnvironment(Map.of())
        .withSsh(SshServerOptions.defaults().withHome(dir));
  }

  @AfterEach
  void stop() throws Exception {
    for (TestRelay r : relays) {
      r.close();
    }
    if (echo != null) {
      echo.close();
    }
    if (control != null) {
      control.close().await(60, TimeUnit.SECONDS);
    }
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void twoTunnelsToDistinctRelaysMovingOnGoAwayAndPinnedRegion() throws Exception {
    Agent agent = Agent.start(vertx, config, options).await(30, TimeUnit.SECONDS);
    try {
      waitFor(() -> agent.relayUrls().size() == 2, () -> "two tunnels, have " + agent.relayUrls());
      List<TestRelay> held = relays.stream().filter(r -> holds(agent, r)).toList();
      assertThat(held).hasSize(2);
      TestRelay spare = relays.stream().filter(r -> !held.contains(r)).findFirst().orElseThrow();
      Session old = held.get(0).nextSession();
      held.get(1).nextSession();
      assertThat(spare.sessions).isEmpty();

      // a long stream on the tunnel that will be told to go away
      Stream st = old.open(WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), null).await(20, TimeUnit.SECONDS);
      Buffer got = Buffer.buffer();
      Promise<Buffer> ended = Promise.promise();
      old.context().runOnContext(v -> {
        st.handler(got::appendBuffer);
        st.endHandler(x -> ended.tryComplete(got));
        st.exceptionHandler(ended::tryFail);
      });
      old.goAway(ErrorCode.GOING_AWAY, "relay is draining");
      Session replacement = spare.nextSession(); // on the third relay, not the draining one
      assertThat(old.isClosed()).isFalse();
      waitFor(() -> holds(agent, spare) && !holds(agent, held.get(0)) && agent.relayUrls().size() == 2,
          () -> "tunnels to the other two relays, have " + agent.relayUrls());
      assertThat(held.get(0).sessions).isEmpty(); // the draining relay was not dialed again
      st.write(Buffer.buffer("still here"));
      st.end();
      assertThat(ended.future().await(20, TimeUnit.SECONDS).toString()).isEqualTo("still here");
      Buffer data = Exchanges.random(5, 4_000);
      assertThat(Exchanges.exchange(replacement, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
          .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());
    } finally {
      agent.close().await(20, TimeUnit.SECONDS);
    }
    relays.forEach(r -> r.sessions.clear());

    // pinned region: one tunnel, to that region's relay only
    Agent pinned = Agent.start(vertx, withRegion(config, "ap"), options).await(30, TimeUnit.SECONDS);
    try {
      assertThat(pinned.whenConnected().await(20, TimeUnit.SECONDS))
          .startsWith("wss://127.0.0.1:" + relays.get(2).port() + "/");
      relays.get(2).nextSession();
      Thread.sleep(300); // room for a wrong second tunnel to show up
      assertThat(pinned.relayUrls()).hasSize(1);
      assertThat(relays.get(0).sessions).isEmpty();
      assertThat(relays.get(1).sessions).isEmpty();
    } finally {
      pinned.close().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void remeasuresPeriodicallyAndMovesOnlyToAMuchNearerRelay() throws Exception {
    TestRelay eu = relays.get(0);
    TestRelay us = relays.get(1);
    TestRelay ap = relays.get(2);
    ap.latencyCheckDelayMillis = 300; // far away at first
    Agent agent = Agent.start(vertx, config, options.withRemeasureEvery(Duration.ofMillis(200)))
        .await(30, TimeUnit.SECONDS);
    try {
      waitFor(() -> agent.relayUrls().size() == 2, () -> "two tunnels, have " + agent.relayUrls());
      assertThat(holds(agent, eu) && holds(agent, us)).as("the two near relays: %s", agent.relayUrls()).isTrue();
      eu.nextSession();
      Session usTunnel = us.nextSession();

      // ap comes as near as the others: several re-measurements, no move (nothing to gain)
      ap.latencyCheckDelayMillis = 0;
      Thread.sleep(1_500);
      assertThat(ap.sessions).isEmpty();
      assertThat(usTunnel.isClosed()).isFalse();

      // us moves far away: the agent opens a tunnel to ap, then lets the one to us go
      us.latencyCheckDelayMillis = 300;
      Session apTunnel = ap.nextSession();
      usTunnel.closeFuture().await(20, TimeUnit.SECONDS);
      waitFor(() -> holds(agent, eu) && holds(agent, ap) && agent.relayUrls().size() == 2,
          () -> "tunnels to eu and ap, have " + agent.relayUrls());
      Buffer data = Exchanges.random(9, 2_000);
      assertThat(Exchanges.exchange(apTunnel, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
          .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());
      assertThat(us.sessions).isEmpty();
    } finally {
      agent.close().await(20, TimeUnit.SECONDS);
    }
  }

  static AgentConfig withRegion(AgentConfig c, String region) {
    return new AgentConfig(c.url(), c.token(), region, c.sshTarget(), c.relayCount(), c.tunnel(), c.relayUrl(),
        c.caCert(), c.relayFingerprint(), c.stateDir(), c.reconnectMin(), c.reconnectMax(), c.dialTimeout(),
        c.targetConnectTimeout(), c.metricsAddress());
  }

  static boolean holds(Agent agent, TestRelay relay) {
    return agent.relayUrls().stream().anyMatch(u -> u.startsWith("wss://127.0.0.1:" + relay.port() + "/"));
  }

  static void waitFor(BooleanSupplier condition, java.util.function.Supplier<String> what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after 20 s waiting for " + what.get());
      }
      Thread.sleep(20);
    }
  }
}
