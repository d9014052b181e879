package io.relaymesh.agent.tunnel;

import static io.relaymesh.agent.tunnel.Exchanges.exchange;
import static io.relaymesh.agent.tunnel.Exchanges.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.relaymesh.agent.Agent;
import io.relaymesh.agent.AgentOptions;
import io.relaymesh.agent.ssh.SshServerOptions;
import io.relaymesh.config.AgentConfig;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.telemetry.Metrics;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The agent's {@code metrics-address}: {@code /metrics} after real streams over a real tunnel
 * ({@link TestRelay}), {@code /readyz} following the tunnel, and the structured stream / tunnel
 * log lines.
 */
@Timeout(90)
class AgentMetricsTest {
  static final String TOKEN = "rma_metrics-test-token-secret";
  static Vertx vertx;
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

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

  AgentConfig config(TestRelay relay) throws Exception {
    return AgentConfig.defaults()
        .withCredentials("http://127.0.0.1:9", TOKEN) // not asked: relay-url is explicit
        .withRelayUrl(relay.url())
        .withTrust(null, relay.fingerprint())
        .withStateDir(dir.resolve("state"))
        .withReconnect(Duration.ofMillis(50), Duration.ofMillis(400))
        .withMetricsAddress("127.0.0.1:0");
  }

  Agent startAgent(AgentConfig config) throws Exception {
    return Agent.start(vertx, config, AgentOptions.defaults()
            .withEnvironment(Map.of())
            .withSsh(SshServerOptions.defaults().withHome(dir).withShell("/bin/sh")))
        .await(30, TimeUnit.SECONDS);
  }

  @Test
  void servesMetricsHealthAndReadinessAndLogsEveryStream() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger acceptorLog = (Logger) LoggerFactory.getLogger(StreamAcceptor.class);
    Logger keeperLog = (Logger) LoggerFactory.getLogger(TunnelKeeper.class);
    acceptorLog.addAppender(logs);
    keeperLog.addAppender(logs);
    try (TestRelay relay = new TestRelay(vertx, TOKEN); EchoServer echo = new EchoServer()) {
      int relayPort = relay.port();
      relay.stop(); // nothing to connect to yet
      Agent agent = startAgent(config(relay));
      try {
        String base = agent.metricsUrl();
        assertThat(base).startsWith("http://127.0.0.1:").doesNotEndWith(":0");
        assertThat(get(base + "/healthz").statusCode()).isEqualTo(200);
        waitFor(() -> value(scrape(base), "relaymesh_agent_reconnects_total",
            Map.of("reason", "dial-failed")) >= 1, () -> "a failed dial counted");
        HttpResponse<String> notReady = get(base + "/readyz");
        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(notReady.body()).contains("\"code\":\"not_ready\"").doesNotContain(TOKEN);
        assertThat(value(scrape(base), "relaymesh_agent_tunnels", Map.of("state", "connected")))
            .isZero();

        relay.listen(relayPort);
        Session s = relay.nextSession();
        agent.whenConnected().await(20, TimeUnit.SECONDS);
        HttpResponse<String> ready = get(base + "/readyz");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).contains("\"tunnels\":1");
        String up = scrape(base);
        assertThat(value(up, "relaymesh_agent_tunnels", Map.of("state", "connected"))).isEqualTo(1.0);
        assertThat(value(up, "relaymesh_agent_tunnels", Map.of("state", "connecting"))).isZero();
        assertThat(value(up, "relaymesh_agent_tunnel_relays", Map.of("region", "unknown")))
            .isEqualTo(1.0);

        // a stream to a closed local port: refused, counted
        int closed = AgentTunnelTest.closedPort();
        assertThatThrownBy(() -> exchange(s, WireSpec.KIND_TCP, "127.0.0.1:" + closed, Buffer.buffer("x"))
            .await(20, TimeUnit.SECONDS)).isInstanceOf(StreamRefusedException.class);
        // a target that is not loopback: not allowed, counted
        assertThatThrownBy(() -> exchange(s, WireSpec.KIND_TCP, "10.1.2.3:22", Buffer.buffer("x"))
            .await(20, TimeUnit.SECONDS)).isInstanceOf(StreamRefusedException.class);
        // two echo exchanges
        Buffer data = random(3, 20_000);
        for (int i = 0; i < 2; i++) {
          assertThat(exchange(s, WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(), data)
              .await(20, TimeUnit.SECONDS).getBytes()).isEqualTo(data.getBytes());
        }
        // streams held open: one app stream (TCP whose metadata names an app), one SSH session
        Stream app = s.open(WireSpec.KIND_TCP, "127.0.0.1:" + echo.port(),
            Buffer.buffer("{\"user\":\"alice\",\"connectionId\":\"c-9\",\"app\":\"web-alice-dev\"}"))
            .await(20, TimeUnit.SECONDS);
        Stream ssh = s.open(WireSpec.KIND_SSH, "", null).await(20, TimeUnit.SECONDS);
        waitFor(() -> value(scrape(base), "relaymesh_agent_ssh_sessions", Map.of()) == 1.0,
            () -> "one SSH session open");
        String open = scrape(base);
        assertThat(value(open, "relaymesh_agent_streams", Map.of("kind", "app"))).isEqualTo(1.0);
        assertThat(value(open, "relaymesh_agent_streams", Map.of("kind", "ssh"))).isEqualTo(1.0);
        assertThat(value(open, "relaymesh_agent_streams", Map.of("kind", "tcp"))).isZero();
        assertThat(value(open, "relaymesh_agent_ssh_sessions_opened_total", Map.of())).isEqualTo(1.0);
        s.context().runOnContext(v -> {
          app.reset(ErrorCode.CANCEL, "test done");
          ssh.reset(ErrorCode.CANCEL, "test done");
        });
        waitFor(() -> {
          String x = scrape(base);
          return value(x, "relaymesh_agent_streams", Map.of("kind", "app")) == 0
              && value(x, "relaymesh_agent_ssh_sessions", Map.of()) == 0
              && value(x, "relaymesh_agent_streams", Map.of("kind", "ssh")) == 0;
        }, () -> "app and SSH streams closed");

        // the relay closes the tunnel (GOAWAY first): a reconnect with reason "goaway"
        s.close(ErrorCode.INTERNAL, "relay test closes the tunnel").await(10, TimeUnit.SECONDS);
        relay.nextSession();
        waitFor(() -> agent.isConnected(), () -> "reconnected");

        String scrape = scrape(base);
        String df = "relaymesh_agent_local_dial_failures_total";
        assertThat(value(scrape, df, Map.of("reason", "refused"))).isEqualTo(1.0);
        assertThat(value(scrape, df, Map.of("reason", "not-allowed"))).isEqualTo(1.0);
        assertThat(value(scrape, df, Map.of("reason", "timeout"))).isZero();
        assertThat(value(scrape, "relaymesh_agent_reconnects_total", Map.of("reason", "goaway")))
            .isEqualTo(1.0);
        assertThat(value(scrape, "relaymesh_agent_reconnects_total", Map.of("reason", "closed")))
            .isZero();
        assertThat(value(scrape, "relaymesh_agent_tunnels", Map.of("state", "connected"))).isEqualTo(1.0);
        assertThat(value(scrape, "relaymesh_agent_streams", Map.of("kind", "tcp"))).isZero();
        assertThat(scrape).doesNotContain(TOKEN).doesNotContain("alice").doesNotContain("web-alice-dev");
        assertThat(MetricsDoc.load().undocumented(scrape)).isEmpty();
        HttpResponse<String> m = get(base + "/metrics");
        assertThat(m.headers().firstValue("Content-Type")).hasValue(Metrics.CONTENT_TYPE);
        assertThat(get(base + "/nope").statusCode()).isEqualTo(404);
      } finally {
        agent.close().await(20, TimeUnit.SECONDS);
      }
      // the listener is gone with the agent
      String base = agent.metricsUrl();
      assertThatThrownBy(() -> get(base + "/healthz")).isInstanceOf(java.io.IOException.class);
    } finally {
      acceptorLog.detachAppender(logs);
      keeperLog.detachAppender(logs);
    }

    // one structured line per stream open and close, one per tunnel up and down
    List<Map<String, Object>> closedLines = lines(logs, "stream closed");
    assertThat(closedLines).hasSizeGreaterThanOrEqualTo(4);
    Map<String, Object> echoClose = closedLines.stream().filter(l -> "tcp".equals(l.get("kind")))
        .findFirst().orElseThrow();
    assertThat(echoClose).containsKeys("tunnel_id", "stream_id", "port", "bytes_in", "bytes_out",
        "duration_ms", "reason");
    assertThat(echoClose.get("bytes_in")).isEqualTo(20_000L);
    assertThat(echoClose.get("bytes_out")).isEqualTo(20_000L);
    assertThat(lines(logs, "stream opened")).anySatisfy(l -> assertThat(l)
        .containsEntry("kind", "app").containsEntry("user", "alice").containsEntry("app", "web-alice-dev"));
    assertThat(lines(logs, "stream refused")).anySatisfy(l -> assertThat(l)
        .containsEntry("reason", "CONNECT_REFUSED").containsEntry("kind", "tcp").containsKey("port"));
    assertThat(lines(logs, "stream refused")).anySatisfy(l -> assertThat(l)
        .containsEntry("reason", "UNREACHABLE").containsEntry("target", "10.1.2.3:22"));
    assertThat(lines(logs, "tunnel up")).hasSize(2)
        .allSatisfy(l -> assertThat(l).containsKeys("tunnel_id", "relay"));
    assertThat(lines(logs, "tunnel down")).isNotEmpty()
        .allSatisfy(l -> assertThat(l).containsKeys("tunnel_id", "relay", "duration_ms", "reason"));
    for (ILoggingEvent e : logs.list) {
      assertThat(e.getFormattedMessage() + " " + e.getKeyValuePairs()).doesNotContain(TOKEN);
    }
  }

  @Test
  void aBusyMetricsAddressFailsTheStartWithTheSettingsName() throws Exception {
    try (TestRelay relay = new TestRelay(vertx, TOKEN);
         java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
             java.net.InetAddress.getByName("127.0.0.1"))) {
      AgentConfig c = config(relay).withMetricsAddress("127.0.0.1:" + taken.getLocalPort());
      assertThatThrownBy(() -> startAgent(c))
          .hasMessageContaining("agent.metrics-address: cannot listen on 127.0.0.1:" + taken.getLocalPort());
      assertThatThrownBy(() -> startAgent(config(relay).withMetricsAddress("9464")))
          .hasMessageContaining("agent.metrics-address: expected host:port, got \"9464\"");
    }
  }

  private static List<Map<String, Object>> lines(ListAppender<ILoggingEvent> logs, String message) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ILoggingEvent e : new ArrayList<>(logs.list)) {
      if (message.equals(e.getMessage()) && e.getKeyValuePairs() != null) {
        Map<String, Object> kv = new HashMap<>();
        e.getKeyValuePairs().forEach(p -> kv.put(p.key, p.value));
        out.add(kv);
      }
    }
    return out;
  }

  static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String scrape(String base) {
    try {
      HttpResponse<String> r = get(base + "/metrics");
      assertThat(r.statusCode()).isEqualTo(200);
      return r.body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** The value of the one sample of {@code name} whose labels include {@code want}. */
  static double value(String scrape, String name, Map<String, String> want) {
    List<Double> found = new ArrayList<>();
    for (String line : scrape.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches() || !m.group(1).equals(name)) {
        continue;
      }
      Map<String, String> labels = new HashMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      if (labels.entrySet().containsAll(want.entrySet())) {
        found.add(Double.parseDouble(m.group(4)));
      }
    }
    assertThat(found).as("samples of %s with %s", name, want).hasSize(1);
    return found.get(0);
  }

  static void waitFor(BooleanSupplier condition, Supplier<String> what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after 20 s waiting for " + what.get());
      }
      Thread.sleep(20);
    }
  }
}
