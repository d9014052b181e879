package io.relaymesh.cli;

import static io.relaymesh.cli.MultiRelayTest.await;
import static io.relaymesh.cli.MultiRelayTest.roundTrip;
import static io.relaymesh.cli.MultiRelayTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.RelayServer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 6, drain: a rolling restart of the two relays of region {@code eu} (one at a time: drain,
 * start again, wait until it is registered) while port-forward style connections keep coming —
 * each a fresh CLI client ({@link ClientTunnel}: ticket, relay choice, dial, open, echo, close,
 * the way {@code relaymesh port-forward} does for every accepted connection). A third relay
 * (region {@code us}) is where the agent can move. Real control plane, relays and agent in one
 * JVM on loopback.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(180)
class RollingRestartTest {

  @TempDir Path dir;
  Control control;
  Vertx vertx;
  final List<RelayConfig> configs = new ArrayList<>();
  final List<RelayServer> relays = new ArrayList<>();
  Path trust;
  Path cliConfig;
  Agent agent;
  NetServer echo;
  String alice;

  @BeforeEach
  void start() throws Exception {
    control = Control.startOnNewDatabase(dir.resolve("control"));
    String admin = control.setupAdmin();
    alice = control.createUser(admin, "alice");
    String agentToken = control.createWorkspace(alice, "dev").getString("agentToken");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    String eu = control.createRegion(admin, "eu");
    String us = control.createRegion(admin, "us");
    StringBuilder pems = new StringBuilder();
    for (String[] r : List.of(new String[] {"eu", "eu-1", eu}, new String[] {"eu", "eu-2", eu},
        new String[] {"us", "us-1", us})) {
      RelayConfig c = RelayConfig.defaults().withControl(control.server.url(), r[2], r[0])
          .withReplicaId(r[1]).withListen("127.0.0.1:0")
          .withTls(TlsConfig.defaults().withStateDir(dir.resolve("tls-" + r[1])))
          .withAgentAuthTtl(Duration.ofSeconds(1), Duration.ofSeconds(1));
      configs.add(c);
      RelayServer s = await(RelayServer.start(vertx, c));
      await(s.firstRegistration());
      relays.add(s);
      pems.append(s.caCertPem()).append('\n'); // reused across restarts (same state dir)
    }
    trust = dir.resolve("relays-ca.pem");
    Files.writeString(trust, pems);
    echo = await(vertx.createNetServer().connectHandler(s -> s.handler(s::write))
        .listen(0, "127.0.0.1"));
    agent = await(Agent.start(vertx, AgentConfig.defaults()
        .withCredentials(control.server.url(), agentToken)
        .withTrust(trust, null).withStateDir(dir.resolve("agent"))
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(500)),
        AgentOptions.defaults().withEnvironment(Map.of())));
    cliConfig = Files.createDirectories(dir.resolve("cli"));
    new Credentials(control.server.url(), "alice", alice).save(env());
  }

  @AfterEach
  void stop() {
    if (agent != null) {
      await(agent.close());
    }
    relays.forEach(RelayServer::stop);
    if (vertx != null) {
      await(vertx.close());
    }
    if (control != null) {
      control.close();
    }
  }

  Env env() {
    Map<String, String> vars = new HashMap<>();
    vars.put("RELAYMESH_CONFIG_DIR", cliConfig.toString());
    vars.put("RELAYMESH_CA_CERT", trust.toString());
    return new Env(vars, new ByteArrayInputStream(new byte[0]),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), null);
  }

  /** One new connection as `relaymesh port-forward` makes it; returns the relay it went through. */
  String connectOnce(int n) throws Exception {
    try (ClientTunnel t = new ClientTunnel(env(), WorkspaceRef.parse("dev"), null)) {
      JsonObject ticket = t.ticket(echo.actualPort());
      DialedTunnel dialed = t.dial(t.relayUrl(ticket), ticket.getString("ticket"));
      Stream s = t.open(dialed.session(), WireSpec.KIND_TCP, "127.0.0.1:" + echo.actualPort(),
          null, "echo");
      String text = "connection " + n;
      assertThat(roundTrip(dialed, s, text)).isEqualTo(text);
      return t.dialedRelayUrl();
    }
  }

  @Test
  void rollingRestartOfARegionFailsNoNewConnectionAndLetsInFlightStreamsFinish() throws Exception {
    waitFor(() -> agent.relayUrls().size() == 2, () -> "two agent tunnels, have " + agent.relayUrls());
    // and the control plane knows (relays report presence asynchronously): tickets name them
    waitFor(() -> control.http.get("/api/v1/workspaces/alice/dev", alice).json()
            .getJsonArray("agents").getJsonObject(0).getJsonArray("relays").size() == 2,
        () -> "the control plane lists the agent on two relays");
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger ok = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    Thread load = new Thread(() -> {
      for (int n = 0; !stop.get(); n++) {
        try {
          connectOnce(n);
          ok.incrementAndGet();
        } catch (Throwable e) {
          failures.add("connection " + n + ": " + e);
        }
      }
    }, "port-forward-load");
    load.start();
    try {
      for (int i = 0; i < 2; i++) {
        RelayServer old = relays.get(i);
        // a stream in flight through the relay about to drain (when the agent is on it)
        InFlight inFlight = agent.relayUrls().stream()
            .anyMatch(u -> u.startsWith("wss://127.0.0.1:" + old.port() + "/"))
            ? InFlight.open(this, old) : null;
        int before = ok.get();
        waitFor(() -> ok.get() >= before + 3, () -> "connections flowing before the drain of "
            + old.replicaId() + " (failures: " + failures + ")");

        Future<Void> drained = old.drain(Duration.ofSeconds(30));
        if (inFlight != null) {
          Thread.sleep(300); // still open while the relay drains
          assertThat(inFlight.finish("finished during the drain")).isEqualTo(
              "finished during the drain");
        }
        await(drained);
        RelayServer restarted = await(RelayServer.start(vertx, configs.get(i)));
        await(restarted.firstRegistration());
        relays.set(i, restarted);
        int after = ok.get();
        waitFor(() -> ok.get() >= after + 3, () -> "connections flowing after the restart of "
            + old.replicaId() + " (failures: " + failures + ")");
        waitFor(() -> !agent.relayUrls().isEmpty(), () -> "the agent connected again");
      }
    } finally {
      stop.set(true);
      load.join(TimeUnit.SECONDS.toMillis(60));
    }
    assertThat(failures).as("failed new connections during the rolling restart (%d ok)", ok.get())
        .isEmpty();
    assertThat(ok.get()).isGreaterThan(6);
    // two tunnels again: a drained replica is avoided only until it registers anew (restart)
    waitFor(() -> agent.relayUrls().size() == 2, () -> "two agent tunnels again, have "
        + agent.relayUrls());
    System.out.println("rolling restart: " + ok.get() + " connections, none failed");
  }

  /** A stream opened through one relay before its drain, finished after the drain started. */
  record InFlight(MultiRelayTest.Client client, Stream stream, Promise<String> ended,
      Buffer got) {
    static InFlight open(RollingRestartTest t, RelayServer relay) throws Exception {
      MultiRelayTest.Client c = MultiRelayTest.Client.dial(t.vertx, t.trust, t.control,
          t.control.login("alice", Control.PASSWORD), relay, t.echo.actualPort());
      Stream s = c.open("127.0.0.1:" + t.echo.actualPort());
      Buffer got = Buffer.buffer();
      Promise<String> ended = Promise.promise();
      c.tunnel().session().context().runOnContext(v -> {
        s.handler(got::appendBuffer);
        s.endHandler(x -> ended.tryComplete(got.toString()));
        s.exceptionHandler(ended::tryFail);
      });
      return new InFlight(c, s, ended, got);
    }

    /** Echoes {@code text} over the old stream, then ends it and waits for its end. */
    String finish(String text) throws Exception {
      Promise<Void> echoed = Promise.promise();
      client.tunnel().session().context().runOnContext(v -> {
        stream.handler(b -> {
          got.appendBuffer(b);
          if (got.length() >= text.length()) {
            echoed.tryComplete();
          }
        });
        stream.write(Buffer.buffer(text));
      });
      echoed.future().await(30, TimeUnit.SECONDS);
      stream.end();
      String answer = ended.future().await(30, TimeUnit.SECONDS);
      client.close();
      return answer;
    }
  }
}
