package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * The baselines: a TCP echo server (server Vert.x) and client (client Vert.x) on loopback,
 * TCP_NODELAY on both ends; optionally TLS on both ends ("one TLS hop", same engine and
 * certificate as the tunnel). Every {@link #dial()} is a new connection.
 */
public final class TcpDialer implements Duplex.Dialer {

  private final NetServer server;
  private final NetClient client;
  private final int port;

  private TcpDialer(NetServer server, NetClient client) {
    this.server = server;
    this.client = client;
    this.port = server.actualPort();
  }

  /** Starts an echo server on 127.0.0.1, port 0; TLS when {@code tls}. */
  public static Future<TcpDialer> start(Env env, boolean tls) {
    NetServerOptions so = new NetServerOptions().setHost("127.0.0.1").setPort(0)
        .setTcpNoDelay(true).setAcceptBacklog(4096);
    NetClientOptions co = new NetClientOptions().setTcpNoDelay(true);
    if (tls) {
      so.setSsl(true).setKeyCertOptions(env.cert().keyCertOptions())
          .setSslEngineOptions(env.tlsEngine());
      co.setSsl(true).setTrustOptions(env.cert().trustOptions())
          .setHostnameVerificationAlgorithm("").setSslEngineOptions(env.tlsEngine());
    }
    NetServer server = env.server().createNetServer(so);
    server.connectHandler(s -> EchoPipe.echo(s, s));
    NetClient client = env.client().createNetClient(co);
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
