package io.relaymesh.proxy.testutil;

import static io.relaymesh.proxy.testutil.Await.await;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.PipeTransport;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.SelfSignedCertificate;

/** A connected client/server session pair, over an in-memory pipe or a real TLS WebSocket. */
public final class Tunnels implements AutoCloseable {
  public final Session client;
  public final Session server;
  public final CountingSessionMetrics clientMetrics;
  public final CountingSessionMetrics serverMetrics;
  private final AutoCloseable cleanup;

  private Tunnels(Session client, Session server, CountingSessionMetrics cm,
      CountingSessionMetrics sm, AutoCloseable cleanup) {
    this.client = client;
    this.server = server;
    this.clientMetrics = cm;
    this.serverMetrics = sm;
    this.cleanup = cleanup;
  }

  /** Both sessions on one context, connected by a {@link PipeTransport}. */
  public static Tunnels pipe(Vertx vertx, TunnelConfig clientConfig, TunnelConfig serverConfig,
      Handler<Stream> serverOpens) {
    Context ctx = vertx.getOrCreateContext();
    CountingSessionMetrics cm = new CountingSessionMetrics();
    CountingSessionMetrics sm = new CountingSessionMetrics();
    Session[] s = await(Await.on(ctx, () -> {
      PipeTransport[] p = PipeTransport.pair(ctx, 256 * 1024);
      Session server = Session.create(ctx, p[1], Role.SERVER, serverConfig, sm);
      server.openHandler(serverOpens);
      Session client = Session.create(ctx, p[0], Role.CLIENT, clientConfig, cm);
      return Future.succeededFuture(new Session[] {client, server});
    }));
    await(s[0].ready());
    await(s[1].ready());
    return new Tunnels(s[0], s[1], cm, sm, () -> { });
  }

  /**
   * A TLS WebSocket server on 127.0.0.1 port 0 (self-signed certificate) with subprotocol
   * {@code relaymesh.v1}, and a client connected to it; sessions on different event loops.
   */
  public static Tunnels webSocket(Vertx vertx, TunnelConfig clientConfig,
      TunnelConfig serverConfig, Handler<Stream> serverOpens) {
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    CountingSessionMetrics cm = new CountingSessionMetrics();
    CountingSessionMetrics sm = new CountingSessionMetrics();
    Promise<Session> serverSession = Promise.promise();
    HttpServer httpServer = vertx.createHttpServer(new HttpServerOptions()
        .setSsl(true)
        .setKeyCertOptions(cert.keyCertOptions())
        .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL));
    httpServer.webSocketHandler(ws -> {
      WebSocketTransport transport = WebSocketTransport.negotiated(ws);
      if (transport == null) {
        return;
      }
      Session s = Session.create(Vertx.currentContext(), transport, Role.SERVER,
          serverConfig, sm);
      s.openHandler(serverOpens);
      serverSession.tryComplete(s);
    });
    await(httpServer.listen(0, "127.0.0.1"));
    WebSocketClient wsClient = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setSsl(true).setTrustOptions(cert.trustOptions()).setVerifyHost(false));
    Context clientCtx = vertx.getOrCreateContext();
    Session client = await(Await.on(clientCtx, () -> wsClient.connect(new WebSocketConnectOptions()
        .setHost("127.0.0.1").setPort(httpServer.actualPort()).setURI("/tunnel")
        .addSubProtocol(WireSpec.SUBPROTOCOL))
        .map(ws -> Session.create(clientCtx, WebSocketTransport.of(ws), Role.CLIENT,
            clientConfig, cm))));
    Session server = await(serverSession.future());
    await(client.ready());
    await(server.ready());
    return new Tunnels(client, server, cm, sm, () -> {
      await(wsClient.close());
      await(httpServer.close());
      cert.delete();
    });
  }

  @Override
  public void close() throws Exception {
    if (!client.isClosed()) {
      client.close(io.relaymesh.proxy.wire.ErrorCode.NO_ERROR, "test done");
    }
    cleanup.close();
  }
}
