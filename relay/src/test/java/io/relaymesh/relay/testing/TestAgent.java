package io.relaymesh.relay.testing;

import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A minimal agent for the relay tests, made of the real pieces the production agent uses: a TLS
 * WebSocket client session (subprotocol {@code relaymesh.v1}, agent token) whose accepted TCP
 * opens dial loopback and are bridged with {@link StreamBridge}; a closed port is refused with
 * {@code CONNECT_REFUSED} like the contract says.
 */
public final class TestAgent {

  /** The OPEN metadata the relay sent, per accepted or refused stream. */
  public final List<JsonObject> openMetadata = new CopyOnWriteArrayList<>();
  public final Session session;
  private final WebSocketClient ws;

  private TestAgent(Session session, WebSocketClient ws) {
    this.session = session;
    this.ws = ws;
  }

  /** WebSocket client options trusting the relay's certificate. */
  public static WebSocketClientOptions trusting(String caPem) {
    return new WebSocketClientOptions().setSsl(true).setVerifyHost(true)
        .setTrustOptions(new PemTrustOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(caPem)))
        .setConnectTimeout(10_000);
  }

  /** Connects to the relay's agent endpoint; fails like the upgrade fails (401, 503, ...). */
  public static Future<TestAgent> connect(Vertx vertx, int port, String caPem, String token) {
    return connect(vertx, port, caPem, token, null);
  }

  /** Like {@link #connect(Vertx, int, String, String)}, serving SSH opens with {@code ssh}. */
  public static Future<TestAgent> connect(Vertx vertx, int port, String caPem, String token,
      io.relaymesh.agent.ssh.AgentSshServer ssh) {
    WebSocketClient ws = vertx.createWebSocketClient(trusting(caPem));
    NetClient tcp = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5000)
        .setTcpNoDelay(true));
    Context ctx = vertx.getOrCreateContext();
    Future<TestAgent> f = Await.on(ctx, () -> ws.connect(new WebSocketConnectOptions()
            .setHost("127.0.0.1").setPort(port).setSsl(true).setURI("/api/v1/tunnel/agent")
            .addSubProtocol(WireSpec.SUBPROTOCOL)
            .putHeader("Authorization", "Bearer " + token))
        .compose(socket -> {
          Session s = Session.create(ctx, WebSocketTransport.of(socket), Role.CLIENT,
              TunnelConfig.defaults(), new CountingSessionMetrics());
          TestAgent agent = new TestAgent(s, ws);
          s.openHandler(stream -> agent.accept(tcp, ssh, stream));
          return s.ready().map(agent);
        }));
    return f.onFailure(e -> ws.close());
  }

  private void accept(NetClient tcp, io.relaymesh.agent.ssh.AgentSshServer ssh, Stream stream) {
    openMetadata.add(stream.metadata().length() == 0 ? new JsonObject()
        : new JsonObject(stream.metadata()));
    if (stream.kind() == WireSpec.KIND_SSH && ssh != null) {
      Context ctx = io.vertx.core.Vertx.currentContext();
      stream.accept().onSuccess(st -> ssh.serve(ctx, st, st, "stream " + st.id()));
      return;
    }
    if (stream.kind() != WireSpec.KIND_TCP) {
      stream.reject(ErrorCode.UNSUPPORTED, "test agent serves TCP only");
      return;
    }
    String target = stream.target();
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon);
    if (!host.equals("127.0.0.1")) {
      stream.reject(ErrorCode.UNREACHABLE, "not loopback: " + target);
      return;
    }
    int port = Integer.parseInt(target.substring(colon + 1));
    tcp.connect(port, host).onComplete(ar -> {
      if (ar.failed()) {
        stream.reject(ErrorCode.CONNECT_REFUSED, "connection refused on " + target);
      } else {
        stream.accept().onComplete(acc -> {
          if (acc.succeeded()) {
            StreamBridge.bridge(acc.result(), ar.result());
          } else {
            ar.result().close();
          }
        });
      }
    });
  }

  /**
   * GOAWAY and close; waits at most 5 s for the close to be confirmed: a relay killed under the
   * agent never answers the WebSocket close, and the test must not hang on it.
   */
  public void close() {
    if (!session.isClosed()) {
      try {
        session.close(ErrorCode.NO_ERROR, "test agent done").toCompletionStage()
            .toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        // the relay is gone: the transport is dropped below and by Vert.x's close
      }
    }
    ws.close();
  }
}
