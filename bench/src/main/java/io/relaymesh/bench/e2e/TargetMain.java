package io.relaymesh.bench.e2e;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * The target services of the suite, in their own JVM, on 127.0.0.1 ephemeral ports (printed as
 * {@code ports echo=E sink=S source=R} on stdout):
 *
 * <ul>
 *   <li>echo: writes back what it reads;
 *   <li>sink: reads an 8-byte count N (N < 0: read to EOF, which needs TCP half-close through the
 *       path), then N bytes, then answers 16 bytes: the byte count and the CRC32 of the bytes;
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
  static long patternCrc(long n) {
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
    System.out.println("ports echo=" + s[0].getLocalPort() + " sink=" + s[1].getLocalPort()
        + " source=" + s[2].getLocalPort());
    System.out.flush();
    // runs until killed, or until stdin closes (the suite exited)
    while (System.in.read() >= 0) {
      // ignore input
    }
    System.exit(0);
  }

  /** Echo, sink and source listening (daemon threads); close the sockets to stop accepting. */
  static ServerSocket[] start() throws IOException {
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
