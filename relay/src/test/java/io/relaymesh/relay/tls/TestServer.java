package io.relaymesh.relay.tls;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;

/**
 * A real Vert.x HTTPS server on 127.0.0.1:0 configured by {@link RelayTls}, answering every
 * request with what the server side saw: {@code session=<SSLSession class> protocol=... cipher=...
 * http=...}.
 */
final class TestServer implements AutoCloseable {

  final HttpServer server;
  final CertificateReloader reloader;

  TestServer(Vertx vertx, RelayTls tls) throws Exception {
    server = vertx.createHttpServer(tls.configure(new HttpServerOptions().setHost("127.0.0.1").setPort(0)));
    server.requestHandler(req -> {
      SSLSession s = req.connection().sslSession();
      req.response().end("session=" + s.getClass().getName() + " protocol=" + s.getProtocol()
          + " cipher=" + s.getCipherSuite() + " http=" + req.version());
    });
    server.listen().await(10, TimeUnit.SECONDS);
    reloader = tls.watch(vertx, server);
  }

  int port() {
    return server.actualPort();
  }

  @Override
  public void close() throws Exception {
    reloader.close();
    server.close().await(10, TimeUnit.SECONDS);
  }
}
