package io.relaymesh.relay.testing;

/**
 * A TCP echo server on plain sockets (one thread per connection): echoes everything, then
 * half-closes after the client's EOF. (A Vert.x echo closes the whole socket at EOF and may drop
 * echo bytes still queued in Netty when it was paused by back-pressure.)
 */
public final class BlockingEcho implements AutoCloseable {
  private final java.net.ServerSocket server;
  private final java.util.concurrent.ExecutorService threads =
      java.util.concurrent.Executors.newCachedThreadPool();

  /** Listens on a free loopback port. */
  public BlockingEcho() throws java.io.IOException {
    server = new java.net.ServerSocket(0, 200, java.net.InetAddress.getLoopbackAddress());
    threads.execute(() -> {
      while (!server.isClosed()) {
        try {
          java.net.Socket s = server.accept();
          threads.execute(() -> echo(s));
        } catch (java.io.IOException e) {
          return; // closed
        }
      }
    });
  }

  private static void echo(java.net.Socket s) {
    try (s) {
      s.getInputStream().transferTo(s.getOutputStream());
      s.shutdownOutput();
    } catch (java.io.IOException e) {
      // the client went away
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (java.io.IOException e) {
      // closing anyway
    }
    threads.shutdownNow();
  }
}

