package io.relaymesh.agent.tunnel;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test-only relay built from the real pieces: a Vert.x HTTPS server (self-signed certificate,
 * 127.0.0.1, port 0 or a given port) serving {@code /api/v1/tunnel/agent} like the contract says:
 * checks {@code Authorization: Bearer <token>} (401 + JSON error otherwise), upgrades with
 * subprotocol {@code relaymesh.v1} and runs a server-role {@link Session} on it; answers
 * {@code GET /latency-check} like a relay. Tests open
 * streams to the agent on the sessions it hands out.
 */
final class TestRelay implements AutoCloseable {
  final Vertx vertx;
  /** One certificate for all test relays of a JVM: RSA key generation costs seconds on a busy machine. */
  static final SelfSignedCertificate SHARED_CERT = SelfSignedCertificate.create("localhost");
  final SelfSignedCertificate cert = SHARED_CERT;
  final String token;
  final BlockingQueue<Session> sessions = new LinkedBlockingQueue<>();
  final AtomicInteger rejected = new AtomicInteger();
  /** The agent WebSockets accepted, in order (to cut one without GOAWAY: a lost tunnel). */
  final java.util.List<io.vertx.core.http.ServerWebSocket> webSockets =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Added to every {@code /latency-check} answer: makes the relay look this much farther away. */
  volatile long latencyCheckDelayMillis;
  private HttpServer server;
  private int port;

  TestRelay(Vertx vertx, String token) throws Exception {
    this.vertx = vertx;
    this.token = token;
    listen(0);
  }

  void listen(int wantedPort) throws Exception {
    server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(cert.keyCertOptions())
            .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL))
        .requestHandler(req -> {
          if (req.path().equals("/latency-check")) { // as the relay's HealthEndpoints answer it
            long delay = latencyCheckDelayMillis;
            if (delay <= 0) {
              req.response().putHeader("Cache-Control", "no-store").end("ok");
            } else { // a relay "farther away", for the latency probe only
              vertx.setTimer(delay, t -> req.response().putHeader("Cache-Control", "no-store").end("ok"));
            }
            return;
          }
          if (!req.path().equals("/api/v1/tunnel/agent")) {
            req.response().setStatusCode(404).end(new JsonObject().put("code", "not_found")
                .put("message", "no such endpoint").encode());
            return;
          }
          if (!("Bearer " + token).equals(req.getHeader("Authorization"))) {
            rejected.incrementAndGet();
            req.response().setStatusCode(401).putHeader("Content-Type", "application/json")
                .end(new JsonObject().put("code", "unauthenticated").put("message", "agent token is not valid")
                    .encode());
            return;
          }
          req.toWebSocket().onSuccess(ws -> {
            WebSocketTransport t = WebSocketTransport.negotiated(ws);
            if (t != null) {
              webSockets.add(ws);
              sessions.add(Session.create(Vertx.currentContext(), t, Role.SERVER, TunnelConfig.defaults(),
                  SessionMetrics.NOOP));
            }
          });
        });
    server.listen(wantedPort, "127.0.0.1").await(20, TimeUnit.SECONDS);
    port = server.actualPort();
  }

  int port() {
    return port;
  }

  String url() {
    return "wss://127.0.0.1:" + port;
  }

  String fingerprint() throws Exception {
    return TrustSpec.sha256FingerprintOfPem(Path.of(cert.certificatePath()));
  }

  /** The next agent session, ready (its SETTINGS arrived); fails the test after 20 s. */
  Session nextSession() throws Exception {
    Session s = sessions.poll(20, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("no agent tunnel arrived within 20 s");
    }
    s.ready().await(20, TimeUnit.SECONDS);
    return s;
  }

  /** Stops listening (live tunnels stay unless closed). */
  void stop() throws Exception {
    server.close().await(20, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    stop();
  }
}
