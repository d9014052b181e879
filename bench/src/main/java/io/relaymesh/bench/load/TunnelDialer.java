package io.relaymesh.bench.load;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.TunnelTransport;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * A Relaymesh tunnel on loopback: a Vert.x HTTP(S) server (server Vert.x) accepting one
 * WebSocket with subprotocol {@code relaymesh.v1} and running a server-role {@link Session}
 * whose open handler accepts every stream and echoes it (the stream piped to itself); one
 * WebSocket client (client Vert.x) with a client-role session. {@link #dial()} opens a stream
 * ({@code KIND_TCP}); all streams share the one WebSocket. Default {@link TunnelConfig}.
 */
public final class TunnelDialer implements Duplex.Dialer {

  /** WebSocket max frame size both ends, 0 = Vert.x default (65536); system property bench.wsMaxFrame. */
  static final int WS_MAX_FRAME = Integer.getInteger("bench.wsMaxFrame", 0);

  /**
   * WebSocket write-queue max size both ends in bytes, 0 = Vert.x default; system property
   * bench.wsWriteQueue. Experiment for the head-of-line figure: the session writes messages until
   * the WebSocket reports writeQueueFull, so this bounds how much bulk data a small write can
   * find queued ahead of it below the session.
   */
  static final int WS_WRITE_QUEUE = Integer.getInteger("bench.wsWriteQueue", 0);

  /** Experiment: see {@link CopyingTransport}; system property bench.copyClientMessages. */
  static final boolean COPY_CLIENT_MESSAGES = Boolean.getBoolean("bench.copyClientMessages");

  private final HttpServer httpServer;
  private final WebSocketClient wsClient;
  private final Session client;
  private final Session server;
  private final CountingSessionMetrics clientMetrics;
  private final CountingSessionMetrics serverMetrics;

  private TunnelDialer(HttpServer httpServer, WebSocketClient wsClient, Session client,
      Session server, CountingSessionMetrics cm, CountingSessionMetrics sm) {
    this.httpServer = httpServer;
    this.wsClient = wsClient;
    this.client = client;
    this.server = server;
    this.clientMetrics = cm;
    this.serverMetrics = sm;
  }

  /** Starts the server and connects the client; TLS on the WebSocket when {@code tls}. */
  public static Future<TunnelDialer> start(Env env, boolean tls) {
    return start(env, tls, COPY_CLIENT_MESSAGES);
  }

  /**
   * As {@link #start(Env, boolean)}; {@code copyClientMessages}: the client session's messages
   * go through a {@link CopyingTransport} (experiment).
   */
  public static Future<TunnelDialer> start(Env env, boolean tls, boolean copyClientMessages) {
    return start(env, tls, copyClientMessages, false);
  }

  /**
   * As {@link #start(Env, boolean, boolean)}; {@code masked}: the client does not offer
   * unmasked frames (the server accepts them either way, as the relay does), i.e. the
   * behaviour before the {@code Relaymesh-Unmasked-Frames} negotiation.
   */
  public static Future<TunnelDialer> start(Env env, boolean tls, boolean copyClientMessages,
      boolean masked) {
    TunnelConfig cfg = TunnelConfig.defaults();
    CountingSessionMetrics cm = new CountingSessionMetrics();
    CountingSessionMetrics sm = new CountingSessionMetrics();
    Promise<Session> serverSession = Promise.promise();
    HttpServerOptions so = new HttpServerOptions().addWebSocketSubProtocol(WireSpec.SUBPROTOCOL)
        .setTcpNoDelay(true).setAcceptUnmaskedFrames(true); // as the relay's listener
    WebSocketClientOptions co = new WebSocketClientOptions().setTcpNoDelay(true);
    if (WS_MAX_FRAME > 0) { // experiment: -Dbench.wsMaxFrame=131072 (Vert.x default 65536)
      so.setMaxWebSocketFrameSize(WS_MAX_FRAME);
      co.setMaxFrameSize(WS_MAX_FRAME);
    }
    if (tls) {
      so.setSsl(true).setKeyCertOptions(env.cert().keyCertOptions())
          .setSslEngineOptions(env.tlsEngine());
      co.setSsl(true).setTrustOptions(env.cert().trustOptions()).setVerifyHost(false)
          .setSslEngineOptions(env.tlsEngine());
    }
    HttpServer httpServer = env.server().createHttpServer(so);
    httpServer.requestHandler(req -> {
      WebSocketTransport.acceptUnmaskedFrames(req); // as the relay (Tunnels.upgrade)
      req.toWebSocket().onSuccess(ws -> {
      if (WS_WRITE_QUEUE > 0) {
        ws.setWriteQueueMaxSize(WS_WRITE_QUEUE);
      }
      WebSocketTransport transport = WebSocketTransport.negotiated(ws);
      if (transport == null) {
        return;
      }
      WebSocketTransport.limitUnsentBytes(ws);
      Session s = Session.create(Vertx.currentContext(), transport, Role.SERVER, cfg, sm);
      s.openHandler(TunnelDialer::echo);
      serverSession.tryComplete(s);
      });
    });
    WebSocketClient wsClient = env.client().createWebSocketClient(co);
    Context clientCtx = env.client().getOrCreateContext();
    Promise<Session> clientSession = Promise.promise();
    return httpServer.listen(0, "127.0.0.1").compose(srv -> {
      WebSocketConnectOptions connect = new WebSocketConnectOptions()
          .setHost("127.0.0.1").setPort(srv.actualPort()).setURI("/tunnel")
          .addSubProtocol(WireSpec.SUBPROTOCOL);
      if (!masked) { // as proxy.dial.TunnelDialer
        connect.putHeader(WireSpec.UNMASKED_FRAMES_HEADER, WireSpec.UNMASKED_FRAMES_VALUE);
      }
      clientCtx.runOnContext(v -> wsClient.connect(connect)
          .map(ws -> {
            WebSocketTransport.unmaskIfAccepted(ws, ws.headers());
            WebSocketTransport.limitUnsentBytes(ws);
            if (WS_WRITE_QUEUE > 0) {
              ws.setWriteQueueMaxSize(WS_WRITE_QUEUE);
            }
            TunnelTransport transport = WebSocketTransport.of(ws);
            if (copyClientMessages) {
              transport = new CopyingTransport(transport);
            }
            return Session.create(Vertx.currentContext(), transport, Role.CLIENT, cfg, cm);
          })
          .onComplete(clientSession));
      return clientSession.future();
    }).compose(c -> c.ready().compose(v -> serverSession.future())
        .compose(s -> s.ready().map(v -> new TunnelDialer(httpServer, wsClient, c, s, cm, sm))));
  }

  private static void echo(Stream s) {
    s.accept().onSuccess(st -> EchoPipe.echo(st, st));
  }

  @Override
  public Future<Duplex> dial() {
    return client.open(WireSpec.KIND_TCP, "echo", null).map(TunnelDialer::wrap);
  }

  static Duplex wrap(Stream s) {
    return new Duplex() {
      @Override
      public ReadStream<Buffer> in() {
        return s;
      }

      @Override
      public WriteStream<Buffer> out() {
        return s;
      }

      @Override
      public Future<Void> close() {
        return s.end();
      }
    };
  }

  /** Refusals either side counted (should be none; a benchmark that hit a limit is invalid). */
  public String refusals() {
    return "client " + clientMetrics.refusals() + ", server " + serverMetrics.refusals();
  }

  @Override
  public Future<Void> shutdown() {
    String r = refusals();
    if (!r.equals("client {}, server {}")) {
      System.err.println("WARNING: tunnel refusals during the run: " + r);
    }
    return client.close(ErrorCode.NO_ERROR, "benchmark done")
        .eventually(wsClient::close).eventually(httpServer::close);
  }
}
