package io.relaymesh.cli.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongConsumer;

/**
 * The "workspace file server" of {@link ProcessFaultsE2ETest}, on 127.0.0.1 (one thread per
 * connection), and its client. A request is one line:
 *
 * <ul>
 *   <li>{@code GET <name> <bytesPerSecond>}: the file's bytes, then the server's FIN, like
 *       {@code cat} (no length: only the way the stream ends tells a complete file from a cut
 *       one: an EOF is "complete", a reset is "failed"); a rate above 0 throttles the sending;
 *   <li>{@code PUT <name>}: the bytes up to the client's FIN are stored as {@code <name>}, then
 *       the server answers the SHA-256 of what it stored (its acknowledgement) and closes.
 * </ul>
 */
final class FaultFileServer implements AutoCloseable {

  private final ServerSocket server;
  private final Path dir;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fault-file-server");
    t.setDaemon(true);
    return t;
  });

  FaultFileServer(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
    server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    pool.execute(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** Writes a file of {@code size} pseudo-random bytes (seeded by its name) to the served dir. */
  Path create(String name, int size) throws IOException {
    byte[] b = new byte[size];
    new Random(name.hashCode()).nextBytes(b);
    return Files.write(dir.resolve(name), b);
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        pool.execute(() -> serve(s));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      String[] req = readLine(in).split(" ");
      if (req[0].equals("GET")) {
        long rate = Long.parseLong(req[2]);
        byte[] data = Files.readAllBytes(dir.resolve(req[1]));
        int chunk = 16 * 1024;
        long t0 = System.nanoTime();
        for (int off = 0; off < data.length; off += chunk) {
          out.write(data, off, Math.min(chunk, data.length - off));
          if (rate > 0) {
            long due = t0 + (off + chunk) * 1_000_000_000L / rate;
            long wait = (due - System.nanoTime()) / 1_000_000;
            if (wait > 0) {
              Thread.sleep(wait);
            }
          }
        }
        out.flush();
        s.shutdownOutput();
      } else if (req[0].equals("PUT")) {
        byte[] data = in.readAllBytes();
        Files.write(dir.resolve(req[1]), data);
        out.write((sha256(data) + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        s.shutdownOutput();
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      // the peer went away (a fault of the test), or a bad request: the connection just ends
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0 || b.size() > 1000) {
        throw new IOException("no request line");
      }
      b.write(c);
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Downloads {@code name} through {@code port} (a port-forward's local port): the bytes up to
   * the EOF; an {@link IOException} (a reset) when the connection broke. {@code progress} sees
   * the running byte count.
   */
  static byte[] get(int port, String name, long rate, LongConsumer progress) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
      s.setSoTimeout(60_000); // a hang is a failure too, but a bounded one
      s.getOutputStream().write(("GET " + name + " " + rate + "\n")
          .getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[32 * 1024];
      InputStream in = s.getInputStream();
      for (int n; (n = in.read(buf)) >= 0; ) {
        got.write(buf, 0, n);
        progress.accept(got.size());
      }
      return got.toByteArray();
    }
  }

  /** Uploads {@code data} as {@code name} through {@code port}; the server's SHA-256 answer. */
  static String put(int port, String name, byte[] data) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      out.write(("PUT " + name + "\n").getBytes(StandardCharsets.UTF_8));
      out.write(data);
      out.flush();
      s.shutdownOutput();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    pool.shutdownNow();
  }
}
