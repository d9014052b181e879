package io.relaymesh.relay;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.relay.testing.BlockingEcho;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.TestClient;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code relay.admin-listen}: a real relay (real control plane, real agent and client tunnel
 * sessions, a TCP echo in the "workspace") with its plain-HTTP admin listener on 127.0.0.1:0.
 * {@code /metrics} and {@code /debug/consistency} are served there and nowhere on the public TLS
 * listener; health and readiness on both; the admin listener answers through a drain and stops
 * with the relay; a taken admin port fails the start naming the setting.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(90)
class RelayAdminListenerTest {

  @TempDir
  static Path dir;
  static RelayFixture fx;
  static RelayServer relay;
  static BlockingEcho echo;

  record Answer(int status, io.vertx.core.MultiMap headers, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  @BeforeAll
  static void start() throws java.io.IOException {
    fx = new RelayFixture(dir);
    echo = new BlockingEcho();
    relay = await(RelayServer.start(fx.vertx, adminConfig("tls-admin")));
    await(relay.firstRegistration());
  }

  @AfterAll
  static void stop() {
    if (relay != null) {
      relay.stop();
    }
    if (echo != null) {
      echo.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  static io.relaymesh.config.RelayConfig adminConfig(String tlsDir) {
    return RelayFixture.relayConfig(fx.control.server.url(), fx.relayToken, dir.resolve(tlsDir))
        .withAdminListen("127.0.0.1:0");
  }

  /** A request over plain HTTP to the admin listener of {@code r}. */
  static Future<Answer> admin(RelayServer r, String path, String bearer) {
    return send(new HttpClientOptions(), r.adminPort(), path, bearer);
  }

  /** A request over TLS to the public listener of {@code r}. */
  static Answer pub(RelayServer r, String path, String bearer) {
    return await(send(new HttpClientOptions().setSsl(true).setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(r.caCertPem()))),
        r.port(), path, bearer));
  }

  static Future<Answer> send(HttpClientOptions options, int port, String path, String bearer) {
    HttpClient client = fx.vertx.createHttpClient(options.setConnectTimeout(5000));
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
        .setPort(port).setURI(path).setTimeout(20_000);
    if (bearer != null) {
      o.putHeader("Authorization", "Bearer " + bearer);
    }
    return client.request(o).compose(req -> req.send())
        .compose((HttpClientResponse r) -> r.body().map(b -> new Answer(r.statusCode(),
            r.headers(), b.toString())))
        .eventually(() -> client.close());
  }

  @Test
  void adminServesDocumentedMetricsAndThePublicListenerNoLonger() {
    assertThat(relay.adminPort()).isPositive().isNotEqualTo(relay.port());
    assertThat(relay.adminUrl()).isEqualTo("http://127.0.0.1:" + relay.adminPort());
    // real traffic so that the labelled series exist: an agent, a client, an echoed TCP stream
    String user = fx.user("ada");
    TestAgent agent = await(TestAgent.connect(fx.vertx, relay.port(), relay.caCertPem(),
        fx.workspace(user, "metrics")));
    TestClient client = await(TestClient.connect(fx.vertx, relay.port(), relay.caCertPem(),
        fx.ticket(user, "metrics", echo.port()).getString("ticket")));
    try {
      byte[] data = new byte[50_000];
      new Random(3).nextBytes(data);
      assertThat(await(client.echoed(echo.port(), data)).getBytes()).isEqualTo(data);

      Answer m = await(admin(relay, "/metrics", null));
      assertThat(m.status()).isEqualTo(200);
      assertThat(m.headers().get("Content-Type")).startsWith("text/plain; version=0.0.4");
      assertThat(m.body()).contains("\nrelaymesh_relay_ready 1.0\n")
          .contains("\nrelaymesh_relay_agent_tunnels 1.0\n")
          .contains("\nrelaymesh_relay_client_sessions 1.0\n")
          .contains("relaymesh_relay_stream_opens_total{kind=\"tcp\",result=\"ok\"} 1.0")
          .contains("relaymesh_relay_stream_bytes_total{direction=\"to_agent\",kind=\"tcp\"} 50000.0")
          .contains("jvm_memory_used_bytes");
      assertThat(MetricsDoc.load().undocumented(m.body())).isEmpty();
    } finally {
      client.close();
      agent.close();
    }

    Answer pubMetrics = pub(relay, "/metrics", null);
    assertThat(pubMetrics.status()).isEqualTo(404);
    assertThat(pubMetrics.json().getString("code")).isEqualTo("not_found");
    assertThat(pubMetrics.body()).doesNotContain("relaymesh_relay");
    Answer pubConsistency = pub(relay, "/debug/consistency", fx.relayToken);
    assertThat(pubConsistency.status()).as("even with the token").isEqualTo(404);
    assertThat(pubConsistency.json().getString("code")).isEqualTo("not_found");
    // the relay without admin-listen still serves /metrics on its public port
    assertThat(pub(fx.relay, "/metrics", null).status()).isEqualTo(200);
  }

  @Test
  void healthAndReadinessOnBothListenersLatencyCheckOnlyOnThePublicOne() {
    for (Answer a : new Answer[] {await(admin(relay, "/readyz", null)),
        pub(relay, "/readyz", null)}) {
      assertThat(a.status()).isEqualTo(200);
      assertThat(a.json().getString("status")).isEqualTo("ready");
      assertThat(a.json().getString("replicaId")).isEqualTo(relay.replicaId());
    }
    assertThat(await(admin(relay, "/healthz", null)).json().getString("status")).isEqualTo("ok");
    assertThat(pub(relay, "/healthz", null).status()).isEqualTo(200);
    assertThat(pub(relay, "/latency-check", null).status()).isEqualTo(200);

    Answer latency = await(admin(relay, "/latency-check", null));
    assertThat(latency.status()).isEqualTo(404);
    Answer unknown = await(admin(relay, "/api/v1/tunnel/agent", null));
    assertThat(unknown.status()).as("no tunnels on the admin listener").isEqualTo(404);
    assertThat(unknown.json().getString("message")).contains("/metrics", "/readyz");
  }

  @Test
  void consistencyOnTheAdminListenerNeedsNoTokenSoNoneTravelsInPlainText() {
    Answer ok = await(admin(relay, "/debug/consistency", null));
    assertThat(ok.status()).as(ok.body()).isEqualTo(200);
    assertThat(ok.json().getBoolean("consistent")).isTrue();
    assertThat(ok.json().getJsonArray("checks")).isNotEmpty();
    // a token sent anyway is ignored, never echoed
    Answer withToken = await(admin(relay, "/debug/consistency", fx.relayToken));
    assertThat(withToken.status()).isEqualTo(200);
    assertThat(withToken.body()).doesNotContain(fx.relayToken);
  }

  @Test
  void adminListenerAnswersNotReadyThroughTheDrainAndStopsWithTheRelay() {
    RelayServer b = await(RelayServer.start(fx.vertx, adminConfig("tls-drain")));
    String user = fx.user("dora");
    TestAgent agent = null;
    TestClient client = null;
    try {
      await(b.firstRegistration());
      agent = await(TestAgent.connect(fx.vertx, b.port(), b.caCertPem(),
          fx.workspace(user, "drain")));
      client = await(TestClient.connect(fx.vertx, b.port(), b.caCertPem(),
          fx.ticket(user, "drain", echo.port()).getString("ticket")));
      // a stream held open keeps the drain going
      Stream held = await(client.openTcp(echo.port()));
      held.write(Buffer.buffer("hold", StandardCharsets.UTF_8.name()));
      int adminPort = b.adminPort();

      Future<Void> drained = b.drain(Duration.ofSeconds(30));
      Answer ready = await(admin(b, "/readyz", null));
      assertThat(ready.status()).isEqualTo(503);
      assertThat(ready.json().getString("message")).startsWith("draining");
      assertThat(await(admin(b, "/metrics", null)).body())
          .contains("\nrelaymesh_relay_draining 1.0\n").contains("\nrelaymesh_relay_ready 0.0\n");
      assertThat(drained.isComplete()).as("the held stream keeps the relay draining").isFalse();

      client.close(); // the stream ends: the drain completes and the relay stops
      await(drained);
      Throwable gone = failure(send(new HttpClientOptions(), adminPort, "/healthz", null));
      assertThat(gone).as("admin listener closed with the relay")
          .isInstanceOf(java.net.ConnectException.class);
    } finally {
      if (client != null) {
        client.close();
      }
      if (agent != null) {
        agent.close();
      }
      b.stop();
    }
  }

  @Test
  void aTakenAdminPortFailsTheStartNamingTheSetting() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + taken.getLocalPort();
      Throwable e = failure(RelayServer.start(fx.vertx, adminConfig("tls-taken")
          .withAdminListen(address)));
      assertThat(e).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("relay.admin-listen: cannot listen on " + address + ": ")
          .hasMessageContaining("in use");
    }
    Throwable bad = failure(RelayServer.start(fx.vertx, adminConfig("tls-bad")
        .withAdminListen("9090")));
    assertThat(bad).hasMessageContaining("relay.admin-listen: expected host:port, got \"9090\"");
  }
}
