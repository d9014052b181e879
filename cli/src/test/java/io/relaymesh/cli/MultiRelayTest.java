package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.cli.CliRunner.Result;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
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
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several relays: a real control plane, three real relays (regions {@code eu}, {@code us},
 * {@code ap}, one replica each, self-signed certificates) and a real agent with the default
 * {@code relay-count} 2, all in this JVM on 127.0.0.1. The agent holds two tunnels to two
 * relays, stays reachable when one of them closes and moves off a draining relay before its old
 * tunnel is gone; the CLI measures the relays ({@code relays list}) and picks the relay holding
 * the agent, remembering the choice.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(180)
class MultiRelayTest {
  static final List<String> REGIONS = List.of("eu", "us", "ap");
  static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  Control control;
  Vertx vertx;
  final List<RelayServer> relays = new ArrayList<>();
  Path trust;
  String alice;
  Agent agent;
  NetServer echo;

  @BeforeEach
  void start() throws Exception {
    control = Control.startOnNewDatabase(dir.resolve("control"));
    String admin = control.setupAdmin();
    alice = control.createUser(admin, "alice");
    String agentToken = control.createWorkspace(alice, "dev").getString("agentToken");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    StringBuilder pems = new StringBuilder();
    for (String region : REGIONS) {
      String token = control.createRegion(admin, region);
      RelayServer r = await(RelayServer.start(vertx, RelayConfig.defaults()
          .withControl(control.server.url(), token, region).withReplicaId(region + "-1")
          .withListen("127.0.0.1:0").withTls(TlsConfig.defaults().withStateDir(dir.resolve("tls-" + region)))
          .withAgentAuthTtl(Duration.ofSeconds(1), Duration.ofSeconds(1))));
      relays.add(r);
      await(r.firstRegistration());
      pems.append(r.caCertPem()).append('\n');
    }
    trust = dir.resolve("relays-ca.pem");
    Files.writeString(trust, pems);
    echo = await(vertx.createNetServer().connectHandler(s -> s.handler(s::write)).listen(0, "127.0.0.1"));
    AgentConfig config = AgentConfig.defaults().withCredentials(control.server.url(), agentToken)
        .withTrust(trust, null).withStateDir(dir.resolve("agent"))
        .withSshTarget("127.0.0.1:" + echo.actualPort())
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(500));
    assertThat(config.relayCount()).isEqualTo(2);
    agent = await(Agent.start(vertx, config, AgentOptions.defaults().withEnvironment(Map.of())));
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

  @Test
  void agentHoldsTwoRelaysAndStaysReachableWhenOneCloses() throws Exception {
    List<RelayServer> held = awaitHeld(2);
    RelayServer lost = held.get(0);
    RelayServer other = held.get(1);
    RelayServer spare = notIn(held);
    assertThat(echoThrough(lost, "before")).isEqualTo("before");
    assertThat(echoThrough(other, "before")).isEqualTo("before");

    lost.stop();
    // a stream opens through the other relay at once
    assertThat(echoThrough(other, "still reachable")).isEqualTo("still reachable");
    // and a replacement tunnel appears on the third relay
    waitFor(() -> agent.relayUrls().size() == 2 && holds(spare) && !holds(lost),
        () -> "tunnels on the other two relays, have " + agent.relayUrls());
    assertThat(echoThrough(spare, "replacement")).isEqualTo("replacement");
  }

  @Test
  void drainingRelayIsLeftForAnotherBeforeTheOldTunnelCloses() throws Exception {
    List<RelayServer> held = awaitHeld(2);
    RelayServer draining = held.get(0);
    RelayServer spare = notIn(held);
    // a long stream through the relay that will drain keeps its old agent tunnel busy
    Client client = Client.dial(vertx, trust, control, alice, draining, echo.actualPort());
    Stream stream = client.open("127.0.0.1:" + echo.actualPort());
    Buffer got = Buffer.buffer();
    Promise<String> ended = Promise.promise();
    client.tunnel.session().context().runOnContext(v -> {
      stream.handler(got::appendBuffer);
      stream.endHandler(x -> ended.tryComplete(got.toString()));
      stream.exceptionHandler(ended::tryFail);
    });

    Future<Void> drained = draining.drain(Duration.ofSeconds(60));
    waitFor(() -> holds(spare), () -> "a tunnel to the spare relay, have " + agent.relayUrls());
    // the new tunnel came while the old relay still holds the agent's tunnel and the stream
    assertThat(drained.isComplete()).isFalse();
    assertThat(holds(draining)).isFalse();

    // the old stream (over the old agent tunnel) still works, then ends normally
    stream.write(Buffer.buffer("old stream still works"));
    stream.end();
    assertThat(ended.future().await(30, TimeUnit.SECONDS)).isEqualTo("old stream still works");
    await(drained);
    client.close();
    assertThat(agent.relayUrls()).hasSize(2);
    assertThat(echoThrough(spare, "after drain")).isEqualTo("after drain");
  }

  @Test
  void cliMeasuresRelaysAndPicksTheNearestHoldingTheAgentRememberingTheChoice(@TempDir Path config)
      throws Exception {
    List<RelayServer> held = awaitHeld(2);
    CliRunner cli = new CliRunner(config);
    Map<String, String> env = Map.of("RELAYMESH_CA_CERT", trust.toString());
    assertThat(cli.run(Control.PASSWORD + "\n", "login", control.server.url(), "-u", "alice",
        "--password-stdin").exit()).isZero();

    // relays list: one row per replica with its round trip, one marked as chosen
    Result list = cli.runWithEnv(env, null, "relays", "list");
    assertThat(list.exit()).as(list.toString()).isZero();
    List<String> lines = list.out().lines().toList();
    assertThat(lines.get(0)).matches("REGION +REPLICA +HEALTH +URL +RTT +CHOSEN");
    assertThat(lines).hasSize(4);
    for (RelayServer r : relays) {
      assertThat(lines).anyMatch(l -> l.matches(r.region() + " +" + r.replicaId() + " +healthy +"
          + java.util.regex.Pattern.quote(r.url()) + " +\\d+\\.\\d ms( +\\*)?"));
    }
    assertThat(lines.stream().filter(l -> l.endsWith("*"))).hasSize(1);
    Result pinned = cli.runWithEnv(env, null, "relays", "list", "--region", "ap", "-o", "json");
    io.vertx.core.json.JsonArray json = new io.vertx.core.json.JsonArray(pinned.out());
    for (int i = 0; i < json.size(); i++) {
      JsonObject rep = json.getJsonObject(i).getJsonArray("replicas").getJsonObject(0);
      assertThat(rep.getDouble("rttMs")).isNotNull();
      assertThat(rep.getBoolean("chosen")).isEqualTo(json.getJsonObject(i).getString("region").equals("ap"));
    }

    // ssh / port-forward: the relay comes from the ticket's relays (those holding the agent)
    waitFor(() -> ticket().getJsonArray("relays").size() == 2, () -> "presence on both relays");
    String first;
    RelayChoiceCache.Entry remembered;
    try (ClientTunnel t = new ClientTunnel(env(config, env), WorkspaceRef.parse("dev"), null)) {
      first = t.relayUrl(t.ticket(echo.actualPort()));
      // any healthy relay may be the nearest: one that does not hold the agent forwards
      assertThat(relays).extracting(RelayServer::url).contains(first);
      remembered = new RelayChoiceCache(config).get(RelaySelection.key(control.server.url(), "alice/dev", "main", null));
      assertThat(remembered.publicUrl()).isEqualTo(first);
      assertThat(remembered.rttMs()).isNotNull();
      // through the chosen relay
      JsonObject ticket = t.ticket(echo.actualPort());
      DialedTunnel dialed = t.dial(first, ticket.getString("ticket"));
      Stream s = t.open(dialed.session(), WireSpec.KIND_TCP, "127.0.0.1:" + echo.actualPort(), null, "echo");
      assertThat(roundTrip(dialed, s, "via " + first)).isEqualTo("via " + first);
    }
    // a fresh CLI within the max age reuses the choice without measuring
    try (ClientTunnel t = new ClientTunnel(env(config, env), WorkspaceRef.parse("dev"), null)) {
      assertThat(t.relayUrl(t.ticket(echo.actualPort()))).isEqualTo(first);
      assertThat(new RelayChoiceCache(config).get(RelaySelection.key(control.server.url(), "alice/dev", "main", null))
          .measuredAt()).isEqualTo(remembered.measuredAt());
    }
    // stale (max age 0): measured again; loopback relays differ by far less than 10 ms -> stays
    Map<String, String> stale = new HashMap<>(env);
    stale.put("RELAYMESH_CLI_RELAY_CHOICE_MAX_AGE", "0s");
    Thread.sleep(5);
    try (ClientTunnel t = new ClientTunnel(env(config, stale), WorkspaceRef.parse("dev"), null)) {
      assertThat(t.relayUrl(t.ticket(echo.actualPort()))).isEqualTo(first);
      assertThat(new RelayChoiceCache(config).get(RelaySelection.key(control.server.url(), "alice/dev", "main", null))
          .measuredAt()).isAfter(remembered.measuredAt());
    }
    // --region pins a region; the one relay not holding the agent forwards to one that does
    RelayServer away = notIn(held);
    try (ClientTunnel t = new ClientTunnel(env(config, stale), WorkspaceRef.parse("dev"), away.region())) {
      JsonObject ticket = t.ticket(echo.actualPort());
      assertThat(t.relayUrl(ticket)).isEqualTo(away.url());
      DialedTunnel dialed = t.dial(away.url(), ticket.getString("ticket"));
      Stream s = t.open(dialed.session(), WireSpec.KIND_TCP, "127.0.0.1:" + echo.actualPort(), null, "echo");
      assertThat(roundTrip(dialed, s, "forwarded by " + away.region()))
          .isEqualTo("forwarded by " + away.region());
    }
    // the remembered relay dies: the dial falls back to another relay
    try (ClientTunnel t = new ClientTunnel(env(config, env), WorkspaceRef.parse("dev"), null)) {
      JsonObject ticket = t.ticket(echo.actualPort());
      assertThat(t.relayUrl(ticket)).isEqualTo(first);
      relays.stream().filter(r -> r.url().equals(first)).findFirst().orElseThrow().stop();
      DialedTunnel dialed = t.dial(first, ticket.getString("ticket"));
      String fallback = t.dialedRelayUrl();
      assertThat(fallback).isNotEqualTo(first);
      Stream s = t.open(dialed.session(), WireSpec.KIND_TCP, "127.0.0.1:" + echo.actualPort(), null, "echo");
      assertThat(roundTrip(dialed, s, "fallback")).isEqualTo("fallback");
      assertThat(new RelayChoiceCache(config).get(RelaySelection.key(control.server.url(), "alice/dev", "main", null))
          .publicUrl()).isEqualTo(fallback);
    }
  }

  // --- helpers ---

  Env env(Path config, Map<String, String> extra) {
    Map<String, String> vars = new HashMap<>(extra);
    vars.put("RELAYMESH_CONFIG_DIR", config.toString());
    return new Env(vars, new ByteArrayInputStream(new byte[0]),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), null);
  }

  JsonObject ticket() {
    Resp r = control.http.post("/api/v1/tickets", alice, new JsonObject().put("workspace", "dev")
        .put("port", echo.actualPort()));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json();
  }

  boolean holds(RelayServer r) {
    return agent.relayUrls().stream().anyMatch(u -> u.startsWith("wss://127.0.0.1:" + r.port() + "/"));
  }

  RelayServer notIn(List<RelayServer> held) {
    return relays.stream().filter(r -> !held.contains(r)).findFirst().orElseThrow();
  }

  /** Waits until the agent holds {@code n} tunnels and returns their relays. */
  List<RelayServer> awaitHeld(int n) throws Exception {
    waitFor(() -> agent.relayUrls().size() == n, () -> n + " tunnels, have " + agent.relayUrls());
    List<RelayServer> held = relays.stream().filter(this::holds).toList();
    assertThat(held).hasSize(n);
    for (RelayServer r : held) {
      waitFor(() -> r.agents().tunnelCount() == 1, () -> "relay " + r.replicaId() + " holds the agent");
    }
    return held;
  }

  String echoThrough(RelayServer relay, String text) throws Exception {
    Client c = Client.dial(vertx, trust, control, alice, relay, echo.actualPort());
    try {
      return roundTrip(c.tunnel, c.open("127.0.0.1:" + echo.actualPort()), text);
    } finally {
      c.close();
    }
  }

  static String roundTrip(DialedTunnel t, Stream s, String text) throws Exception {
    Promise<String> p = Promise.promise();
    Buffer got = Buffer.buffer();
    t.session().context().runOnContext(v -> {
      s.handler(b -> {
        got.appendBuffer(b);
        if (got.length() >= text.length()) {
          p.tryComplete(got.toString());
        }
      });
      s.exceptionHandler(p::tryFail);
      s.write(Buffer.buffer(text));
    });
    String answer = p.future().await(30, TimeUnit.SECONDS);
    s.end();
    return answer;
  }

  /** A client tunnel with a fresh ticket, to one relay. */
  record Client(DialedTunnel tunnel) {
    static Client dial(Vertx vertx, Path trust, Control control, String user, RelayServer relay, int port) {
      Resp r = control.http.post("/api/v1/tickets", user, new JsonObject().put("workspace", "dev").put("port", port));
      assertThat(r.status()).as(r.toString()).isEqualTo(201);
      TunnelDialer d = TunnelDialer.create(vertx, DialOptions.defaults().withProxy(null)
          .withTrust(TrustSpec.pemFile(trust)));
      return new Client(await(d.dial(relay.url() + ClientTunnel.CLIENT_PATH,
          Map.of("Authorization", "Bearer " + r.json().getString("ticket")))));
    }

    Stream open(String target) {
      Promise<Stream> p = Promise.promise();
      tunnel.session().context().runOnContext(v -> tunnel.session().open(WireSpec.KIND_TCP, target, null)
          .onComplete(p));
      return await(p.future());
    }

    void close() {
      await(tunnel.session().close(io.relaymesh.proxy.wire.ErrorCode.NO_ERROR, "test done"));
    }
  }

  static void waitFor(BooleanSupplier condition, java.util.function.Supplier<String> what) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + WAIT.toSeconds() + " s waiting for " + what.get());
      }
      Thread.sleep(20);
    }
  }

  static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
