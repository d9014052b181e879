package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/** The baseline: a plain TCP echo server and client on loopback, TCP_NODELAY on both ends. */
public final class TcpDialer implements Duplex.Dialer {

  private final NetServer server;
  private final NetClient client;
  private final int port;

  private TcpDialer(NetServer server, NetClient client) {
    this.server = server;
    this.client = client;
    this.port = server.actualPort();
  }

  /** Starts an echo server on 127.0.0.1, port 0. */
  public static Future<TcpDialer> start(Vertx vertx) {
    NetServer server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0)
        .setTcpNoDelay(true));
    server.connectHandler(s -> EchoPipe.echo(s, s));
    NetClient client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true));
    return server.listen().map(s -> new TcpDialer(s, client));
  }

  @Override
  public Future<Duplex> dial() {
    return client.connect(port, "127.0.0.1").map(TcpDialer::wrap);
  }

  static Duplex wrap(NetSocket s) {
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
        return s.close();
      }
    };
  }

  @Override
  public Future<Void> shutdown() {
    return client.close().eventually(server::close);
  }
}
