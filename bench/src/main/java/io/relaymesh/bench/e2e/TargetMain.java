package io.relaymesh.bench.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

/**
 * The target services of the suite, in their own JVM, on 127.0.0.1 ephemeral ports (printed as
 * {@code ports echo=E sink=S source=R http=H} on stdout):
 *
 * <ul>
 *   <li>echo: writes back what it reads;
 *   <li>sink: reads an 8-byte count N (N < 0: read to EOF, which needs TCP half-close through the
 *       path), then N bytes, then answers 16 bytes: the byte count and the CRC32 of the bytes;
 *   <li>http: plain HTTP/1.1, {@code GET /1k} answers {@link #HTTP_BODY} (the soak's app);
 *   <li>source: reads an 8-byte count N, sends N bytes of {@link #PATTERN} (repeated), closes.
 * </ul>
 */
public final class TargetMain {

  static final int PATTERN_SIZE = 1 << 16;
  /** The bytes the source sends, repeated; the client checks the CRC32 of what it received. */
  static final byte[] PATTERN = pattern();

  private static byte[] pattern() {
    byte[] b = new byte[PATTERN_SIZE];
    new Random(8).nextBytes(b);
    return b;
  }

  /** CRC32 of the first {@code n} bytes of the repeated pattern. */
  public static long patternCrc(long n) {
    CRC32 crc = new CRC32();
    while (n > 0) {
      int len = (int) Math.min(n, PATTERN_SIZE);
      crc.update(PATTERN, 0, len);
      n -= len;
    }
    return crc.getValue();
  }

  public static void main(String[] args) throws Exception {
    ServerSocket[] s = start();
    HttpServer http = startHttp();
    System.out.println("ports echo=" + s[0].getLocalPort() + " sink=" + s[1].getLocalPort()
        + " source=" + s[2].getLocalPort() + " http=" + http.getAddress().getPort());
    System.out.flush();
    // runs until killed, or until stdin closes (the suite exited)
    while (System.in.read() >= 0) {
      // ignore input
    }
    System.exit(0);
  }

  /** The ports of the target services' JVM. */
  public record Ports(int echo, int sink, int source, int http) {}

  /** Starts the target services in their own JVM (-Xmx256m) under {@code procs}; their ports. */
  public static Ports launch(Procs procs) throws Exception {
    Procs.Proc target = procs.start("target", List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), TargetMain.class.getName()), Map.of());
    Procs.await(Duration.ofSeconds(30), "target services", target, () -> target.stdout().contains("ports "));
    Matcher m = Pattern.compile("echo=(\\d+) sink=(\\d+) source=(\\d+) http=(\\d+)").matcher(target.stdout());
    if (!m.find()) {
      throw new IllegalStateException("target: " + target.stdout());
    }
    return new Ports(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
        Integer.parseInt(m.group(4)));
  }

  public static final String HTTP_PATH = "/1k";
  public static final String HTTP_BODY = "x".repeat(1023) + "\n";

  /** The HTTP app on a 127.0.0.1 ephemeral port (a small thread pool); {@code stop(0)} ends it. */
  public static HttpServer startHttp() throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
    byte[] body = HTTP_BODY.getBytes(StandardCharsets.US_ASCII);
    server.createContext("/", ex -> {
      try (ex) {
        ex.getRequestBody().readAllBytes();
        if (!ex.getRequestURI().getPath().equals(HTTP_PATH)) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        ex.getResponseHeaders().set("Content-Type", "text/plain");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
      }
    });
    server.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "http");
      t.setDaemon(true);
      return t;
    }));
    server.start();
    return server;
  }

  /** Echo, sink and source listening (daemon threads); close the sockets to stop accepting. */
  public static ServerSocket[] start() throws IOException {
    InetAddress lo = InetAddress.getLoopbackAddress();
    ServerSocket echo = new ServerSocket(0, 4096, lo);
    ServerSocket sink = new ServerSocket(0, 4096, lo);
    ServerSocket source = new ServerSocket(0, 4096, lo);
    serve(echo, TargetMain::echo);
    serve(sink, TargetMain::sink);
    serve(source, TargetMain::source);
    return new ServerSocket[] {echo, sink, source};
  }

  private interface Handler {
    void handle(Socket s) throws IOException;
  }

  private static void serve(ServerSocket server, Handler h) {
    Thread t = new Thread(() -> {
      while (true) {
        try {
          Socket s = server.accept();
          s.setTcpNoDelay(true);
          Thread c = new Thread(() -> {
            try (s) {
              h.handle(s);
            } catch (IOException e) {
              // the client went away
            }
          }, "conn");
          c.setDaemon(true);
          c.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "accept-" + server.getLocalPort());
    t.setDaemon(true);
    t.start();
  }

  private static void echo(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    OutputStream out = s.getOutputStream();
    byte[] buf = new byte[65536];
    int n;
    while ((n = in.read(buf)) >= 0) {
      out.write(buf, 0, n);
    }
  }

  private static void sink(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    long want = in.readLong();
    byte[] buf = new byte[1 << 17];
    CRC32 crc = new CRC32();
    long total = 0;
    int n;
    while ((want < 0 || total < want)
        && (n = in.read(buf, 0, want < 0 ? buf.length : (int) Math.min(buf.length, want - total))) >= 0) {
      crc.update(buf, 0, n);
      total += n;
    }
    s.getOutputStream().write(ByteBuffer.allocate(16).putLong(total).putLong(crc.getValue()).array());
    s.getOutputStream().flush();
  }

  private static void source(Socket s) throws IOException {
    long n = new DataInputStream(s.getInputStream()).readLong();
    OutputStream out = s.getOutputStream();
    while (n > 0) {
      int len = (int) Math.min(n, PATTERN_SIZE);
      out.write(PATTERN, 0, len);
      n -= len;
    }
    out.flush();
    s.shutdownOutput();
    // wait for the client to close (so that the last bytes are not reset away)
    s.setSoTimeout(30_000);
    try {
      while (s.getInputStream().read() >= 0) {
        // drain
      }
    } catch (IOException e) {
      // closing anyway
    }
  }
}
