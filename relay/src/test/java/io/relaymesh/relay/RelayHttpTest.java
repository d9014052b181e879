package io.relaymesh.relay;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.relay.testing.TestAgent;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The relay's HTTP surface over TLS: health, readiness, latency check, non-upgrade requests. */
@ExtendWith(SharedPostgres.class)
@Timeout(60)
class RelayHttpTest {

  @TempDir
  static Path dir;
  static RelayFixture fx;

  record Answer(int status, io.vertx.core.MultiMap headers, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  @BeforeAll
  static void start() {
    fx = new RelayFixture(dir);
  }

  @AfterAll
  static void stop() {
    if (fx != null) {
      fx.close();
    }
  }

  static Answer get(RelayServer relay, HttpMethod method, String path) {
    HttpClient client = fx.vertx.createHttpClient(new HttpClientOptions().setSsl(true)
        .setVerifyHost(true).setTrustOptions(new PemTrustOptions()
            .addCertValue(Buffer.buffer(relay.caCertPem()))));
    try {
      return await(client.request(new RequestOptions().setMethod(method).setHost("127.0.0.1")
              .setPort(relay.port()).setURI(path))
          .compose(req -> req.send())
          .compose((HttpClientResponse r) -> r.body().map(b -> new Answer(r.statusCode(),
              r.headers(), b.toString()))));
    } finally {
      client.close();
    }
  }

  @Test
  void healthzAnswersOk() {
    Answer a = get(fx.relay, HttpMethod.GET, "/healthz");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.json().getString("status")).isEqualTo("ok");
  }

  @Test
  void readyzAnswers200OnceRegistered() {
    await(fx.relay.firstRegistration());
    Answer a = get(fx.relay, HttpMethod.GET, "/readyz");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.json().getString("replicaId")).isEqualTo(fx.relay.replicaId());
    assertThat(a.json().getString("region")).isEqualTo(RelayFixture.REGION);
  }

  @Test
  void readyzAnswers503WhileNotRegistered() {
    // a relay whose token the control plane does not know never registers
    RelayServer unregistered = await(RelayServer.start(fx.vertx, RelayFixture.relayConfig(
        fx.control.server.url(), "rmr_unknownunknownunknownunknownunknownunknown0",
        dir.resolve("tls-2"))));
    try {
      Answer a = get(unregistered, HttpMethod.GET, "/readyz");
      assertThat(a.status()).isEqualTo(503);
      assertThat(a.json().getString("code")).isEqualTo("not_ready");
      assertThat(a.json().getString("message")).contains("not registered");
      assertThat(unregistered.ready()).isFalse();
      assertThat(a.body()).doesNotContain("rmr_");
    } finally {
      unregistered.stop();
    }
  }

  @Test
  void latencyCheckIsTinyCorsOpenAndUncached() {
    Answer a = get(fx.relay, HttpMethod.GET, "/latency-check");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.body().length()).isLessThan(16);
    assertThat(a.headers().get("Access-Control-Allow-Origin")).isEqualTo("*");
    assertThat(a.headers().get("Timing-Allow-Origin")).isEqualTo("*");
    assertThat(a.headers().get("Cache-Control")).isEqualTo("no-store");
    Answer pre = get(fx.relay, HttpMethod.OPTIONS, "/latency-check");
    assertThat(pre.status()).isEqualTo(204);
    assertThat(pre.headers().get("Access-Control-Allow-Origin")).isEqualTo("*");
  }

  @Test
  void tunnelEndpointsWithoutUpgradeAndUnknownPathsAnswerJsonErrors() {
    Answer plain = get(fx.relay, HttpMethod.GET, "/api/v1/tunnel/agent");
    assertThat(plain.status()).isEqualTo(400);
    assertThat(plain.json().getString("message")).contains("WebSocket");
    Answer unknown = get(fx.relay, HttpMethod.GET, "/nope");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().getString("code")).isEqualTo("not_found");
  }

  @Test
  void certificateIsServedAndItsFingerprintMatches() {
    // a TLS connection that trusts only the relay's PEM succeeds (verifying host 127.0.0.1)
    assertThat(get(fx.relay, HttpMethod.GET, "/healthz").status()).isEqualTo(200);
    assertThat(fx.relay.fingerprint()).matches("([0-9A-F]{2}:){31}[0-9A-F]{2}");
    assertThat(fx.relay.url()).isEqualTo("https://127.0.0.1:" + fx.relay.port());
    assertThat(TestAgent.trusting(fx.relay.caCertPem())).isNotNull();
  }

  @Test
  void metricsArePrometheusText() {
    await(fx.relay.firstRegistration());
    Answer a = get(fx.relay, HttpMethod.GET, "/metrics");
    assertThat(a.status()).isEqualTo(200);
    assertThat(a.headers().get("Content-Type")).startsWith("text/plain; version=0.0.4");
    assertThat(a.body()).contains("\nrelaymesh_relay_ready 1.0\n")
        .contains("\nrelaymesh_relay_draining 0.0\n")
        .contains("# TYPE relaymesh_relay_stream_bytes_total counter\n")
        .contains("\nrelaymesh_relay_agent_tunnels 0.0\n")
        .contains("jvm_memory_used_bytes");
    assertThat(io.relaymesh.telemetry.MetricsDoc.load().undocumented(a.body())).isEmpty();
  }

  @Test
  void drainSendsGoAwayToAgentsThenStops() {
    RelayServer b = await(RelayServer.start(fx.vertx, RelayFixture.relayConfig(
        fx.control.server.url(), fx.relayToken, dir.resolve("tls-3"))));
    try {
      String user = fx.user("dora");
      String token = fx.workspace(user, "w");
      TestAgent a = await(TestAgent.connect(fx.vertx, b.port(), b.caCertPem(), token));
      assertThat(get(b, HttpMethod.GET, "/metrics").body())
          .contains("\nrelaymesh_relay_agent_tunnels 1.0\n");
      await(b.firstRegistration());
      assertThat(fx.control.http.get("/api/v1/relays", fx.adminToken).text())
          .contains(b.replicaId());
      io.vertx.core.Future<Void> drained = b.drain(java.time.Duration.ofSeconds(20));
      await(a.session.closeFuture());
      assertThat(a.session.isGoingAway()).isTrue();
      await(drained);
      assertThat(b.ready()).isFalse();
      // deregistered: the control plane no longer offers the drained replica
      assertThat(fx.control.http.get("/api/v1/relays", fx.adminToken).text())
          .doesNotContain(b.replicaId());
      assertThat(fx.control.query("SELECT count(*) FROM relay_replicas WHERE replica_id = '"
          + b.replicaId() + "'").get(0).get(0)).isEqualTo(0L);
      a.close();
    } finally {
      b.stop();
    }
  }

  @Test
  void tunnelHandshakesAboveTheRateAreRefusedWithRetryAfterBeforeAnyTokenCheck() throws Exception {
    RelayServer b = await(RelayServer.start(fx.vertx, RelayFixture.relayConfig(
        fx.control.server.url(), fx.relayToken, dir.resolve("tls-rate")).withHandshakeRate(1)));
    try {
      java.util.List<String> heads = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) {
        heads.add(rawUpgrade(b.port(), i % 2 == 0 ? "/api/v1/tunnel/agent" : "/api/v1/tunnel/client"));
      }
      long refused = heads.stream().filter(h -> h.startsWith("HTTP/1.1 503")).count();
      long checked = heads.stream().filter(h -> h.startsWith("HTTP/1.1 401")).count();
      assertThat(refused + checked).as("%s", heads).isEqualTo(12);
      assertThat(refused).as("%s", heads).isGreaterThanOrEqualTo(1);
      assertThat(checked).as("%s", heads).isGreaterThanOrEqualTo(1); // the burst is admitted
      assertThat(heads.stream().filter(h -> h.startsWith("HTTP/1.1 503")))
          .allSatisfy(h -> assertThat(h).containsIgnoringCase("retry-after: 1")
              .contains("new tunnels per second"));
      assertThat(b.handshakesRefused()).isEqualTo(refused);
    } finally {
      b.stop();
    }
  }

  /** A WebSocket upgrade without credentials over raw TLS; returns the status line, headers, body. */
  private static String rawUpgrade(int port, String path) throws Exception {
    javax.net.ssl.SSLContext ctx = io.relaymesh.proxy.testutil.TrustAll.context();
    try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory()
        .createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          + "Sec-WebSocket-Protocol: relaymesh.v1\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      int n;
      try {
        while ((n = s.getInputStream().read(buf)) > 0) {
          got.write(buf, 0, n);
          String text = got.toString(java.nio.charset.StandardCharsets.UTF_8);
          int end = text.indexOf("\r\n\r\n");
          if (end >= 0 && text.indexOf('}', end) >= 0) {
            break; // head and the JSON error body
          }
        }
      } catch (java.net.SocketTimeoutException e) {
        // answer complete as far as it goes
      }
      return got.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
  }
}
