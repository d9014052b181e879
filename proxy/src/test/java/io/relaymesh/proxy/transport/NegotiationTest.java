package io.relaymesh.proxy.transport;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Version negotiation through the WebSocket subprotocol. */
@Timeout(30)
class NegotiationTest {
  Vertx vertx;
  HttpServer server;
  WebSocketClient client;
  final Promise<Boolean> serverAccepted = Promise.promise();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer(new HttpServerOptions()
        .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL));
    server.webSocketHandler(ws -> serverAccepted.tryComplete(
        WebSocketTransport.negotiated(ws) != null));
    await(server.listen(0, "127.0.0.1"));
    client = vertx.createWebSocketClient();
  }

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  private WebSocketConnectOptions options() {
    return new WebSocketConnectOptions().setHost("127.0.0.1").setPort(server.actualPort())
        .setURI("/tunnel");
  }

  @Test
  void serverSelectsV1AmongTheOfferedVersions() {
    WebSocket ws = await(client.connect(options().addSubProtocol("relaymesh.v2")
        .addSubProtocol(WireSpec.SUBPROTOCOL)));
    assertThat(ws.subProtocol()).isEqualTo("relaymesh.v1");
    assertThat(await(serverAccepted.future())).isTrue();
    assertThat(WebSocketTransport.negotiated(ws)).isNotNull();
  }

  @Test
  void clientWithoutTheSubprotocolIsClosedWith1002() {
    Promise<Short> closed = Promise.promise();
    WebSocket ws = await(client.connect(options()).map(w -> {
      w.closeHandler(v -> closed.tryComplete(w.closeStatusCode()));
      return w;
    }));
    assertThat(await(serverAccepted.future())).isFalse();
    assertThat(await(closed.future())).isEqualTo((short) 1002);
    assertThat(ws.closeReason()).contains("relaymesh.v1 required");
  }
}
