package io.relaymesh.proxy.dial;

import static io.relaymesh.proxy.testutil.Await.await;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test-only TLS WebSocket endpoint on 127.0.0.1 port 0 ({@link TestCerts} certificate): {@code /tunnel} with {@code Authorization: Bearer good} upgrades (offering
 * {@code relaymesh.v1} unless {@code subprotocol} is false) and runs a server-role session; a
 * wrong token gets 401 with the JSON error shape.
 */
final class TestRelayServer implements AutoCloseable {
  /** Sent as {@link DialedTunnel#REPLICA_HEADER} in the upgrade answer when set. */
  volatile String replica;
  final TestCerts certs;
  final List<Session> sessions = new CopyOnWriteArrayList<>();
  final HttpServer server;

  /** How the server answers an offer of unmasked frames ({@link WireSpec#UNMASKED_FRAMES_HEADER}). */
  enum Unmasked {
    /** Ignores the offer and accepts only masked frames (a relay before the negotiation). */
    IGNORE,
    /** Accepts unmasked frames and answers the offer (the relay). */
    ACCEPT,
    /** Answers the offer but rejects unmasked frames: shows whether a client really unmasks. */
    LIE
  }

  TestRelayServer(Vertx vertx, TestCerts certs, boolean subprotocol) {
    this(vertx, certs, subprotocol, Unmasked.IGNORE);
  }

  TestRelayServer(Vertx vertx, TestCerts certs, boolean subprotocol, Unmasked unmasked) {
    this.certs = certs;
    HttpServerOptions options = new HttpServerOptions().setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(certs.certPem.toString()).setKeyPath(certs.keyPem.toString()))
        .setAcceptUnmaskedFrames(unmasked == Unmasked.ACCEPT);
    if (subprotocol) {
      options.addWebSocketSubProtocol(WireSpec.SUBPROTOCOL);
    } else {
      options.addWebSocketSubProtocol("something.else");
    }
    server = vertx.createHttpServer(options).requestHandler(req -> {
      if (!req.path().equals("/tunnel")) {
        req.response().setStatusCode(404).end(new JsonObject().put("code", "not_found")
            .put("message", "no such endpoint").encode());
        return;
      }
      if (!"Bearer good".equals(req.getHeader("Authorization"))) {
        req.response().setStatusCode(401).putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("code", "unauthenticated").put("message", "agent token is not valid").encode());
        return;
      }
      String replica = this.replica;
      if (replica != null) {
        req.response().putHeader(DialedTunnel.REPLICA_HEADER, replica);
      }
      if (unmasked != Unmasked.IGNORE) {
        WebSocketTransport.acceptUnmaskedFrames(req);
      }
      req.toWebSocket().onSuccess(ws -> {
        WebSocketTransport t = WebSocketTransport.negotiated(ws);
        if (t != null) {
          sessions.add(Session.create(Vertx.currentContext(), t, Role.SERVER, TunnelConfig.defaults(),
              io.relaymesh.proxy.session.SessionMetrics.NOOP));
        }
      });
    });
    await(server.listen(0, "127.0.0.1"));
  }

  int port() {
    return server.actualPort();
  }

  String url(String host) {
    return "wss://" + host + ":" + port() + "/tunnel";
  }

  @Override
  public void close() {
    await(server.close());
  }
}
