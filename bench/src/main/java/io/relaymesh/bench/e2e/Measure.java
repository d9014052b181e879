package io.relaymesh.bench.e2e;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * The client side of the workloads, against a TCP port that leads (directly or through a path)
 * to the target services of {@link TargetMain}. Every echo is compared with what was sent and
 * every bulk transfer is checked by byte count and CRC32: a wrong path fails instead of scoring.
 */
public final class Measure {

  public static final int ECHO = 64;
  static final int SO_TIMEOUT_MS = 30_000;

  private Measure() {}

  public static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
    s.setSoTimeout(SO_TIMEOUT_MS);
    return s;
  }

  /**
   * One stream to the sink: MB/s (10^6 bytes/s) from connect to the sink's answer. {@code
   * halfClose}: the sink reads to EOF (our {@code shutdownOutput}) instead of a announced count.
   */
  public static double upload(int sinkPort, long bytes, boolean halfClose) throws IOException {
    long t0 = System.nanoTime();
    try (Socket s = connect(sinkPort)) {
      OutputStream out = s.getOutputStream();
      out.write(ByteBuffer.allocate(8).putLong(halfClose ? -1 : bytes).array());
      long left = bytes;
      while (left > 0) {
        int len = (int) Math.min(left, TargetMain.PATTERN_SIZE);
        out.write(TargetMain.PATTERN, 0, len);
        left -= len;
      }
      out.flush();
      if (halfClose) {
        s.shutdownOutput();
      }
      DataInputStream in = new DataInputStream(s.getInputStream());
      long got = in.readLong();
      long crc = in.readLong();
      double secs = (System.nanoTime() - t0) / 1e9;
      if (got != bytes || crc != TargetMain.patternCrc(bytes)) {
        throw new IOException("upload: the sink got " + got + " bytes (crc " + crc + "), sent " + bytes);
      }
      return bytes / 1e6 / secs;
    }
  }

  /** One stream from the source: MB/s from connect to the last byte. */
  public static double download(int sourcePort, long bytes) throws IOException {
    long t0 = System.nanoTime();
    try (Socket s = connect(sourcePort)) {
      s.getOutputStream().write(ByteBuffer.allocate(8).putLong(bytes).array());
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[1 << 17];
      CRC32 crc = new CRC32();
      long got = 0;
      int n;
      while ((n = in.read(buf)) >= 0) {
        crc.update(buf, 0, n);
        got += n;
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      if (got != bytes || crc.getValue() != TargetMain.patternCrc(bytes)) {
        throw new IOException("download: got " + got + " bytes (crc mismatch: "
            + (crc.getValue() != TargetMain.patternCrc(got)) + "), asked for " + bytes);
      }
      return bytes / 1e6 / secs;
    }
  }

  /** One 64 B echo round trip on {@code s}, content-checked; nanoseconds. */
  public static long echoOnce(Socket s, byte[] payload, byte[] back, long seq) throws IOException {
    ByteBuffer.wrap(payload).putLong(seq).putLong(System.nanoTime());
    long t0 = System.nanoTime();
    s.getOutputStream().write(payload);
    readFully(s.getInputStream(), back);
    long ns = System.nanoTime() - t0;
    if (!Arrays.equals(payload, back)) {
      throw new IOException("echo: round " + seq + " came back different");
    }
    return ns;
  }

  static void readFully(InputStream in, byte[] b) throws IOException {
    int off = 0;
    while (off < b.length) {
      int n = in.read(b, off, b.length - off);
      if (n < 0) {
        throw new IOException("echo: connection closed after " + off + " of " + b.length + " bytes");
      }
      off += n;
    }
  }

  /** {@code rounds} echo round trips after {@code warmup} on one connection (ns, unsorted). */
  public static long[] echo(int echoPort, int warmup, int rounds, long maxNanos) throws IOException {
    try (Socket s = connect(echoPort)) {
      byte[] payload = new byte[ECHO];
      ThreadLocalRandom.current().nextBytes(payload);
      byte[] back = new byte[ECHO];
      for (int i = 0; i < warmup; i++) {
        echoOnce(s, payload, back, i);
      }
      long[] ns = new long[rounds];
      long start = System.nanoTime();
      int i = 0;
      for (; i < rounds && System.nanoTime() - start < maxNanos; i++) {
        ns[i] = echoOnce(s, payload, back, warmup + i);
      }
      return Arrays.copyOf(ns, i);
    }
  }

  /** Echo round trips while another connection of the same path downloads bulk data. */
  record Loaded(long[] ns, double bulkMBps) {}

  static Loaded echoUnderBulk(int echoPort, int sourcePort, int warmup, int rounds, long maxNanos)
      throws Exception {
    AtomicLong received = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    Socket bulk = connect(sourcePort);
    Throwable[] bulkError = new Throwable[1];
    Thread t = new Thread(() -> {
      try {
        bulk.getOutputStream().write(ByteBuffer.allocate(8).putLong(Long.MAX_VALUE / 4).array());
        bulk.getOutputStream().flush();
        InputStream in = bulk.getInputStream();
        byte[] buf = new byte[1 << 17];
        int n;
        while (!stop.get() && (n = in.read(buf)) >= 0) {
          received.addAndGet(n);
        }
      } catch (IOException e) {
        if (!stop.get()) {
          bulkError[0] = e;
        }
      }
    }, "bulk");
    t.setDaemon(true);
    t.start();
    try {
      long until = System.nanoTime() + 10_000_000_000L;
      while (received.get() < 8 << 20) { // the bulk stream is flowing and the queues are full
        if (System.nanoTime() > until || bulkError[0] != null) {
          throw new IOException("bulk stream did not start: " + bulkError[0]);
        }
        Thread.sleep(5);
      }
      long b0 = received.get();
      long t0 = System.nanoTime();
      long[] ns = echo(echoPort, warmup, rounds, maxNanos);
      double mbps = (received.get() - b0) / 1e6 / ((System.nanoTime() - t0) / 1e9);
      if (bulkError[0] != null) {
        throw new IOException("bulk stream failed meanwhile: " + bulkError[0]);
      }
      return new Loaded(ns, mbps);
    } finally {
      stop.set(true);
      bulk.close();
      t.join(5000);
    }
  }

  /**
   * Time to the first 64 B echo on fresh connections, one after another, for at most {@code
   * maxNanos} after the warm-up (ns, unsorted).
   */
  static long[] firstEcho(int echoPort, int warmup, int count, long maxNanos) throws IOException {
    long[] ns = new long[count];
    long start = 0;
    byte[] payload = new byte[ECHO];
    byte[] back = new byte[ECHO];
    ThreadLocalRandom.current().nextBytes(payload);
    for (int i = -warmup; i < count; i++) {
      long t0 = System.nanoTime();
      if (i == 0) {
        start = t0;
      } else if (i > 0 && t0 - start > maxNanos) {
        return Arrays.copyOf(ns, i);
      }
      try (Socket s = connect(echoPort)) {
        echoOnce(s, payload, back, i);
        long d = System.nanoTime() - t0;
        if (i >= 0) {
          ns[i] = d;
        }
      }
    }
    return ns;
  }

  record Burst(int connections, int failures, double perSecond, long[] firstEchoNs, String firstError) {}

  /**
   * {@code n} connections opened at once (non-blocking, one selector), each sends one 64 B
   * payload and waits for it back; time to the first echo is measured from the start of the burst.
   */
  static Burst burst(int echoPort, int n, long timeoutNanos) throws IOException {
    final class Conn {
      final SocketChannel ch;
      final ByteBuffer out = ByteBuffer.allocate(ECHO);
      final ByteBuffer in = ByteBuffer.allocate(ECHO);
      Conn(SocketChannel ch, long seq) {
        this.ch = ch;
        ThreadLocalRandom.current().nextBytes(out.array());
        out.putLong(0, seq);
      }
    }
    long[] done = new long[n];
    int ok = 0;
    int failed = 0;
    String firstError = null;
    InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), echoPort);
    try (Selector sel = Selector.open()) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(false);
        ch.socket().setTcpNoDelay(true);
        Conn c = new Conn(ch, i);
        try {
          if (ch.connect(addr)) {
            ch.register(sel, SelectionKey.OP_WRITE, c);
          } else {
            ch.register(sel, SelectionKey.OP_CONNECT, c);
          }
        } catch (IOException e) {
          failed++;
          firstError = firstError == null ? e.toString() : firstError;
          ch.close();
        }
      }
      while (ok + failed < n && System.nanoTime() - t0 < timeoutNanos) {
        sel.select(100);
        Iterator<SelectionKey> it = sel.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey k = it.next();
          it.remove();
          Conn c = (Conn) k.attachment();
          try {
            if (k.isConnectable()) {
              c.ch.finishConnect();
              k.interestOps(SelectionKey.OP_WRITE);
            } else if (k.isWritable()) {
              c.ch.write(c.out);
              if (!c.out.hasRemaining()) {
                k.interestOps(SelectionKey.OP_READ);
              }
            } else if (k.isReadable()) {
              if (c.ch.read(c.in) < 0) {
                throw new IOException("closed after " + c.in.position() + " bytes");
              }
              if (!c.in.hasRemaining()) {
                if (!Arrays.equals(c.in.array(), c.out.array())) {
                  throw new IOException("echo came back different");
                }
                done[ok++] = System.nanoTime() - t0;
                k.cancel();
                c.ch.close();
              }
            }
          } catch (IOException e) {
            failed++;
            firstError = firstError == null ? e.toString() : firstError;
            k.cancel();
            c.ch.close();
          }
        }
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      int timedOut = n - ok - failed;
      for (SelectionKey k : sel.keys()) {
        k.channel().close();
      }
      if (timedOut > 0 && firstError == null) {
        firstError = timedOut + " connections timed out";
      }
      return new Burst(n, failed + timedOut, ok / secs, Arrays.copyOf(done, ok), firstError);
    }
  }
}
