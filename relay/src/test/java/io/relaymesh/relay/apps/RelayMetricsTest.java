package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;
import static io.relaymesh.proxy.testutil.Await.failure;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.apps.AppRouterFixture.Answer;
import io.relaymesh.relay.testing.BlockingEcho;
import io.relaymesh.relay.testing.TestClient;
import io.relaymesh.relay.testing.Waits;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The relay's metrics, log lines, {@code /debug/consistency} and drain readiness against a real
 * control plane, a real relay (with apps host) and a test agent made of real tunnel sessions,
 * with a TCP echo in the "workspace". The tests run in order on one relay: the exact byte counts
 * are checked before any other traffic, the drain is last.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RelayMetricsTest {

  @TempDir
  static Path dir;
  static AppRouterFixture fx;
  static BlockingEcho echo;

  @BeforeAll
  static void start() throws java.io.IOException {
    fx = new AppRouterFixture(dir, Duration.ofSeconds(60));
    echo = new BlockingEcho();
  }

  @AfterAll
  static void stop() {
    if (echo != null) {
      echo.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  static String ticket(int port) {
    Resp r = fx.control.http.post("/api/v1/tickets", fx.alice,
        new JsonObject().put("workspace", "dev").put("port", port));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    return r.json().getString("ticket");
  }

  static TestClient client(String ticket) {
    return await(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(), ticket));
  }

  static Answer relayGet(String path, MultiMap headers) {
    return fx.sendRawHost(HttpMethod.GET, "127.0.0.1:" + fx.relay.port(), path, headers, null);
  }

  static String scrape() {
    Answer a = relayGet("/metrics", null);
    assertThat(a.status()).isEqualTo(200);
    return a.body();
  }

  /** The value of series {@code name} with (at least) {@code labels}, or -1 when absent. */
  static double value(String scrape, String name, String... labels) {
    Pattern line = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$",
        Pattern.MULTILINE);
    Matcher m = line.matcher(scrape);
    double sum = -1;
    outer:
    while (m.find()) {
      String l = m.group(1) == null ? "" : m.group(1);
      for (int i = 0; i < labels.length; i += 2) {
        if (!l.contains(labels[i] + "=\"" + labels[i + 1] + "\"")) {
          continue outer;
        }
      }
      sum = Math.max(sum, 0) + Double.parseDouble(m.group(2));
    }
    return sum;
  }

  static int closedPort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  @Order(1)
  void metricsCountTunnelsStreamsBytesRefusalsHandshakesAndApps() throws Exception {
    String before = scrape();
    assertThat(value(before, "relaymesh_relay_agent_tunnels")).isEqualTo(1.0);
    assertThat(value(before, "relaymesh_relay_client_sessions")).isEqualTo(0.0);
    assertThat(value(before, "relaymesh_relay_ready")).isEqualTo(1.0);

    // a TCP stream that succeeds: bytes counted both ways, exactly
    TestClient c = client(ticket(echo.port()));
    byte[] data = random(100_003, 1);
    assertThat(await(c.echoed(echo.port(), data)).getBytes()).isEqualTo(data);
    // a stream to a closed port: refused by the agent
    int closed = closedPort();
    TestClient c2 = client(ticket(closed));
    Throwable refused = failure(c2.openTcp(closed));
    assertThat(refused).isInstanceOf(StreamRefusedException.class);
    assertThat(((StreamRefusedException) refused).code()).isEqualTo(ErrorCode.CONNECT_REFUSED);
    c2.close();
    // a client with a bad ticket
    Throwable bad = failure(TestClient.connect(fx.vertx, fx.relay.port(), fx.relay.caCertPem(),
        "not-a-ticket"));
    assertThat(bad).isInstanceOf(UpgradeRejectedException.class);

    Waits.until("the echo stream closed on the relay", Duration.ofSeconds(10),
        () -> value(scrape(), "relaymesh_relay_streams", "kind", "tcp") == 0.0
            && value(scrape(), "relaymesh_relay_client_sessions") == 1.0);
    String s = scrape();
    assertThat(value(s, "relaymesh_relay_stream_bytes_total", "direction", "to_agent", "kind",
        "tcp")).isEqualTo(data.length);
    assertThat(value(s, "relaymesh_relay_stream_bytes_total", "direction", "from_agent", "kind",
        "tcp")).isEqualTo(data.length);
    assertThat(value(s, "relaymesh_relay_stream_bytes_total", "direction", "to_agent", "kind",
        "ssh")).isEqualTo(0.0);
    assertThat(value(s, "relaymesh_relay_stream_opens_total", "kind", "tcp", "result", "ok"))
        .isEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_stream_opens_total", "kind", "tcp", "result",
        "refused")).isEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_stream_open_seconds_count", "kind", "tcp"))
        .isEqualTo(2.0);
    assertThat(value(s, "relaymesh_relay_stream_open_seconds_bucket", "kind", "tcp", "le",
        "10.0")).isEqualTo(2.0);
    assertThat(value(s, "relaymesh_relay_handshake_failures_total", "endpoint", "client",
        "reason", "malformed")).isEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_client_sessions")).isEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_agent_tunnels")).isEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_control_request_seconds_count", "call", "register",
        "outcome", "ok")).isGreaterThanOrEqualTo(1.0);
    assertThat(value(s, "relaymesh_relay_control_request_seconds_count", "call", "agent-auth",
        "outcome", "ok")).isGreaterThanOrEqualTo(1.0);
    c.close();

    // app requests: one forwarded, one for an unknown app
    int app = fx.startApp();
    Answer ok = fx.send(HttpMethod.GET, fx.host(app), "/x", bearer(fx.alice), null);
    assertThat(ok.status()).as(ok.body()).isEqualTo(200);
    Answer unknown = fx.send(HttpMethod.GET, "8080--main--nope--alice."
        + AppRouterFixture.APPS_HOST, "/", bearer(fx.alice), null);
    assertThat(unknown.status()).isEqualTo(404);
    // a TLS handshake that fails: plain text on the TLS port
    try (Socket raw = new Socket("127.0.0.1", fx.relay.port())) {
      raw.setSoTimeout(5000);
      OutputStream out = raw.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      try {
        raw.getInputStream().read(new byte[256]);
      } catch (java.io.IOException e) {
        // closed by the relay
      }
    }
    Waits.until("the app request and the failed handshake counted", Duration.ofSeconds(10),
        () -> {
          String x = scrape();
          return value(x, "relaymesh_relay_app_requests_total", "status", "2xx") >= 1.0
              && value(x, "relaymesh_relay_tls_handshakes_total", "protocol", "failed") >= 1.0;
        });
    String t = scrape();
    assertThat(value(t, "relaymesh_relay_app_requests_total", "status", "4xx"))
        .isGreaterThanOrEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_app_refusals_total", "reason", "unknown-app"))
        .isEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_stream_opens_total", "kind", "app", "result", "ok"))
        .isGreaterThanOrEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_control_request_seconds_count", "call",
        "apps-resolve")).isGreaterThanOrEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_control_errors_total", "call", "apps-resolve",
        "reason", "status-4xx")).isGreaterThanOrEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_tls_handshakes_total", "protocol", "TLSv1.3"))
        .isGreaterThanOrEqualTo(1.0);
    assertThat(value(t, "relaymesh_relay_peer_sessions", "direction", "in")).isEqualTo(0.0);
    assertThat(MetricsDoc.load().undocumented(t)).isEmpty();
  }

  static MultiMap bearer(String token) {
    return HttpHeaders.headers().add("Authorization", "Bearer " + token);
  }

  @Test
  @Order(2)
  void consistencyCheckNeedsTheRegionTokenAndIsConsistentAfterTraffic() {
    TestClient c = client(ticket(echo.port()));
    try {
      byte[] data = random(5000, 2);
      assertThat(await(c.echoed(echo.port(), data)).getBytes()).isEqualTo(data);
      Answer a = relayGet("/debug/consistency", bearer(fx.relayToken));
      assertThat(a.status()).as(a.body()).isEqualTo(200);
      assertThat(a.json().getBoolean("consistent")).isTrue();
      assertThat(a.json().getJsonArray("checks")).hasSizeGreaterThan(5);
      assertThat(a.body()).doesNotContain(fx.relayToken);
    } finally {
      c.close();
    }
    Answer none = relayGet("/debug/consistency", null);
    assertThat(none.status()).isEqualTo(401);
    Answer wrong = relayGet("/debug/consistency", bearer(fx.relayToken + "x"));
    assertThat(wrong.status()).isEqualTo(401);
    Answer user = relayGet("/debug/consistency", bearer(fx.alice));
    assertThat(user.status()).isEqualTo(401);
    assertThat(none.body() + wrong.body() + user.body()).doesNotContain(fx.relayToken)
        .doesNotContain(fx.alice);

    // a gauge that drifted from the tables is reported (and the check recovers once it is back)
    fx.relay.metrics().agentTunnel(1);
    try {
      Answer drift = relayGet("/debug/consistency", bearer(fx.relayToken));
      assertThat(drift.status()).as(drift.body()).isEqualTo(500);
      assertThat(drift.json().getBoolean("consistent")).isFalse();
      assertThat(drift.json().getJsonArray("differences").encode())
          .contains("relaymesh_relay_agent_tunnels");
    } finally {
      fx.relay.metrics().agentTunnel(-1);
    }
    assertThat(relayGet("/debug/consistency", bearer(fx.relayToken)).status()).isEqualTo(200);
  }

  @Test
  @Order(3)
  void oneOpenAndOneCloseLinePerStreamWithBytesAndReasonAndNoSecrets() {
    Logger relayLog = (Logger) LoggerFactory.getLogger("io.relaymesh.relay");
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    relayLog.addAppender(logs);
    String ticket = ticket(echo.port());
    try {
      TestClient c = client(ticket);
      byte[] data = random(12_345, 3);
      assertThat(await(c.echoed(echo.port(), data)).getBytes()).isEqualTo(data);
      c.close();
      Waits.until("the client tunnel's close line", Duration.ofSeconds(10),
          () -> events(logs, "client tunnel closed").size() == 1
              && events(logs, "stream closed").size() == 1);
      List<ILoggingEvent> opened = events(logs, "stream open");
      List<ILoggingEvent> closedLines = events(logs, "stream closed");
      assertThat(opened).hasSize(1);
      assertThat(closedLines).hasSize(1);
      Map<String, Object> open = kv(opened.get(0));
      Map<String, Object> close = kv(closedLines.get(0));
      assertThat(open.get("stream_id")).isEqualTo(close.get("stream_id")).isNotNull();
      assertThat(open).containsEntry("kind", "tcp").containsEntry("user", "alice")
          .containsEntry("workspace", "alice/dev").containsKeys("agent", "relay", "remote",
              "tunnel_id");
      assertThat(close).containsEntry("bytes_in", (long) data.length)
          .containsEntry("bytes_out", (long) data.length).containsEntry("reason", "closed")
          .containsKey("duration_ms");
      Map<String, Object> tunnel = kv(events(logs, "client tunnel closed").get(0));
      assertThat(tunnel).containsKeys("tunnel_id", "bytes_in", "bytes_out", "duration_ms",
          "reason", "user");
      assertThat(events(logs, "client tunnel open")).hasSize(1);
      for (ILoggingEvent e : logs.list) {
        String all = e.getFormattedMessage() + " " + kv(e);
        assertThat(all).doesNotContain(ticket).doesNotContain(fx.relayToken)
            .doesNotContain(fx.alice);
      }
    } finally {
      relayLog.detachAppender(logs);
    }
  }

  static List<ILoggingEvent> events(ListAppender<ILoggingEvent> logs, String message) {
    return List.copyOf(logs.list).stream().filter(e -> message.equals(e.getMessage())).toList();
  }

  static Map<String, Object> kv(ILoggingEvent e) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    if (e.getKeyValuePairs() != null) {
      e.getKeyValuePairs().forEach(p -> m.put(p.key, p.value));
    }
    return m;
  }

  @Test
  @Order(4)
  void drainingRelayIsNotReadyAndSaysSo() {
    TestClient c = client(ticket(echo.port()));
    Stream held = await(c.openTcp(echo.port()));
    var drained = fx.relay.drain(Duration.ofSeconds(30));
    try {
      Answer a = relayGet("/readyz", null);
      assertThat(a.status()).isEqualTo(503);
      assertThat(a.json().getString("code")).isEqualTo("not_ready");
      assertThat(a.json().getString("message")).contains("draining");
      String s = scrape();
      assertThat(value(s, "relaymesh_relay_draining")).isEqualTo(1.0);
      assertThat(value(s, "relaymesh_relay_ready")).isEqualTo(0.0);
      assertThat(value(s, "relaymesh_relay_goaways_total", "direction", "sent"))
          .isGreaterThanOrEqualTo(1.0);
    } finally {
      held.handler(b -> { });
      held.end();
      await(drained);
      c.close();
    }
  }
}
