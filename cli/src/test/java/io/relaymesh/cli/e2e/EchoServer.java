package io.relaymesh.cli.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A plain blocking TCP echo server on 127.0.0.1 (one thread per connection), the "workspace app". */
final class EchoServer implements AutoCloseable {

  private final ServerSocket server;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "echo");
    t.setDaemon(true);
    return t;
  });

  EchoServer() throws IOException {
    server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
    pool.execute(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        pool.execute(() -> echo(s));
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void echo(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      byte[] buf = new byte[16 * 1024];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
      }
      s.shutdownOutput();
    } catch (IOException e) {
      // peer gone
    }
  }

  /** A port nothing listens on (bound once, then released). */
  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    pool.shutdownNow();
  }
}
