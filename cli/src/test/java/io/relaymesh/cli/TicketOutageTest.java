package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * While the control plane is down (connection refused, 5xx), {@code ssh --stdio} and
 * {@code port-forward} keep using a ticket that has not expired, with one warning naming the
 * control plane and the time left but never the ticket; a 4xx answer (revoked, forbidden) does
 * not fall back. The control plane is a local HTTP server answering the status under test.
 */
@Timeout(60)
class TicketOutageTest {

  static final String OLD = "rmt_old-ticket-secret";
  static final String NEW = "rmt_new-ticket-secret";

  Vertx vertx;
  HttpServer server;
  final AtomicInteger status = new AtomicInteger(503);
  final AtomicInteger requests = new AtomicInteger();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();
  @TempDir Path config;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(req -> {
      requests.incrementAndGet();
      int s = status.get();
      JsonObject body = s == 200 ? answer(NEW, Instant.now().plusSeconds(300))
          : new JsonObject().put("code", s == 503 ? "unavailable" : "forbidden")
              .put("message", s == 503 ? "database unavailable" : "ticket refused: session revoked");
      req.response().setStatusCode(s).putHeader("Content-Type", "application/json").end(body.encode());
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  static JsonObject answer(String ticket, Instant expires) {
    return new JsonObject().put("ticket", ticket).put("expiresAt", expires.toString())
        .put("workspace", "dev").put("agent", "main").put("relays", new JsonArray());
  }

  String url() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  Env env(String controlUrl) {
    Env env = new Env(Map.of("RELAYMESH_CONFIG_DIR", config.toString()), System.in,
        new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8), null);
    new Credentials(controlUrl, "alice", "rms_session").save(env);
    return env;
  }

  String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** Caches {@code answer} as ssh --stdio would have after an earlier connection. */
  void cache(String controlUrl, JsonObject answer) {
    new TicketCache(config).put(TicketCache.key(controlUrl, "alice", "dev", "main", 22, null),
        answer, Instant.now());
  }

  static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void sshStdioFallsBackToACachedTicketWithUnder30sLeftWhileTheControlPlaneAnswers503() {
    Env env = env(url());
    cache(url(), answer(OLD, Instant.now().plusSeconds(20)));
    try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null, 22)) {
      JsonObject t = tunnel.reusableTicket(22);
      assertThat(t.getString("ticket")).isEqualTo(OLD);
      assertThat(tunnel.ticketFromCache()).as("a failed dial then retries without it").isTrue();
      assertThat(requests.get()).as("the control plane was asked first").isEqualTo(1);
      assertThat(err()).contains("warning", url(), "database unavailable", "s more")
          .doesNotContain(OLD);

      // once the control plane is back, a fresh ticket replaces it and is cached
      status.set(200);
      assertThat(tunnel.reusableTicket(22).getString("ticket")).isEqualTo(NEW);
      assertThat(tunnel.ticketFromCache()).isFalse();
    }
  }

  @Test
  void sshStdioFallsBackWhenTheControlPlaneRefusesConnections() throws Exception {
    String down = "http://127.0.0.1:" + closedPort();
    Env env = env(down);
    cache(down, answer(OLD, Instant.now().plusSeconds(20)));
    try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null, 22)) {
      assertThat(tunnel.reusableTicket(22).getString("ticket")).isEqualTo(OLD);
      assertThat(err()).contains(down, "connection refused").doesNotContain(OLD);
    }
  }

  /**
   * A hung control plane (accepts, never answers): with a valid cached ticket the request for a
   * new one is given up after {@link ClientTunnel#TICKET_TIMEOUT_WITH_FALLBACK}, not the 30 s
   * of other requests (the test's 25 s limit fails on the latter).
   */
  @Test
  @Timeout(25)
  void sshStdioFallsBackSoonWhenTheControlPlaneHangs() throws Exception {
    try (ServerSocket hung = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      String url = "http://127.0.0.1:" + hung.getLocalPort();
      Env env = env(url);
      cache(url, answer(OLD, Instant.now().plusSeconds(20)));
      try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null, 22)) {
        assertThat(tunnel.reusableTicket(22).getString("ticket")).isEqualTo(OLD);
        assertThat(err()).contains(url, "no answer within 5 s").doesNotContain(OLD);
      }
    }
  }

  @Test
  void sshStdioDoesNotFallBackOn4xxNorToAnExpiredTicket() {
    Env env = env(url());
    cache(url(), answer(OLD, Instant.now().plusSeconds(20)));
    status.set(403);
    try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null, 22)) {
      assertThatThrownBy(() -> tunnel.reusableTicket(22)).isInstanceOf(CliException.class)
          .hasMessageContaining("session revoked");
    }
    cache(url(), answer(OLD, Instant.now().minusSeconds(1)));
    status.set(503);
    try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null, 22)) {
      assertThatThrownBy(() -> tunnel.reusableTicket(22)).isInstanceOf(CliException.class)
          .hasMessageContaining("database unavailable");
    }
    assertThat(err()).doesNotContain("warning");
  }

  @Test
  void portForwardKeepsItsTicketWhileTheControlPlaneIsDownAndWarnsOnce() {
    Env env = env(url());
    PortForwardCommand cmd = new PortForwardCommand();
    try (ClientTunnel tunnel = new ClientTunnel(env, WorkspaceRef.parse("dev"), null)) {
      cmd.tickets.put(3000, answer(OLD, Instant.now().plusSeconds(40))); // under RENEW_BEFORE
      assertThat(cmd.ticket(tunnel, 3000)).isEqualTo(OLD);
      assertThat(cmd.ticket(tunnel, 3000)).isEqualTo(OLD);
      assertThat(requests.get()).as("renewal was tried each time").isEqualTo(2);
      assertThat(err().split("warning", -1)).as(err()).hasSize(2); // exactly one warning
      assertThat(err()).contains(url(), "port 3000").doesNotContain(OLD);

      status.set(403); // revoked: the current ticket is not used any more
      assertThatThrownBy(() -> cmd.ticket(tunnel, 3000)).isInstanceOf(CliException.class)
          .hasMessageContaining("session revoked");

      status.set(503);
      cmd.tickets.put(3000, answer(OLD, Instant.now().minusSeconds(1)));
      assertThatThrownBy(() -> cmd.ticket(tunnel, 3000)).isInstanceOf(CliException.class)
          .hasMessageContaining("database unavailable");

      status.set(200);
      assertThat(cmd.ticket(tunnel, 3000)).isEqualTo(NEW);
    }
  }
}
