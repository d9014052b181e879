package io.relaymesh.agent.tunnel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Test-only blocking TCP echo server on 127.0.0.1 port 0 (plain java.net so that TCP half-close
 * works: it echoes until the client's FIN, then shuts its output down).
 */
final class EchoServer implements AutoCloseable {
  private final ServerSocket server;

  EchoServer() throws IOException {
    server = new ServerSocket(0, 128, InetAddress.getByName("127.0.0.1"));
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread t = new Thread(() -> echo(s), "echo-" + s.getPort());
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "echo-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private static void echo(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      byte[] buf = new byte[32 * 1024];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
      }
      s.shutdownOutput();
    } catch (IOException ignored) {
      // the peer went away
    }
  }

  int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
