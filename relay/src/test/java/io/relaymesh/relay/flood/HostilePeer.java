package io.relaymesh.relay.flood;

import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.RecordingListener;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * The hostile side of a tunnel: a blocking TLS socket that does the WebSocket upgrade by hand and
 * then writes whatever the test asks, frames built with the production {@link FrameWriter}, in
 * WebSocket frames it builds itself (so it can also send a frame header alone, announcing any
 * length). A reader thread reads until {@link #stopReading()} ("a peer that never reads" is one
 * that stopped), decoding with the production {@link FrameReader} into
 * {@link RecordingListener} events ({@code "GOAWAY 0 LIMIT peer pings..."}), and the relay's
 * PINGs read are answered, so a peer that reads is alive; a WebSocket close
 * becomes {@code "CLOSE <status>"}, the end of the connection {@code "EOF"}.
 *
 * <p>Threading: the test thread sends and takes events; the reader thread reads and answers
 * PINGs; sends are serialized.
 */
final class HostilePeer implements AutoCloseable {
  /** Largest message this peer accepts (the relay sends at most 256 KiB ones). */
  private static final int MAX_MESSAGE = 1024 * 1024;
  /** Largest WebSocket frame payload this peer sends (the relay accepts 65,536). */
  static final int WS_FRAME = 65536;

  private final SSLSocket socket;
  private final OutputStream out;
  private final DataInputStream in;
  private final FrameReader reader = new FrameReader(WireSpec.MAX_MAX_FRAME_SIZE,
      WireSpec.MAX_MAX_FRAME_SIZE);
  private final Events events = new Events();
  private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();
  private final Thread readerThread;
  private final java.util.Queue<String> trace = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private volatile boolean reading = true;
  private volatile boolean ended;

  private HostilePeer(SSLSocket socket, InputStream in) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.in = new DataInputStream(in);
    this.readerThread = new Thread(this::readLoop, "hostile-peer-reader");
    this.readerThread.setDaemon(true);
  }

  /** DATA is recorded by length, not content; PINGs are answered (when read). */
  private static final class Events extends RecordingListener {
    final java.util.List<Long> pings = new java.util.ArrayList<>();

    @Override
    public void onData(int id, Buffer payload) {
      events.add("DATA " + id + " " + payload.length());
    }

    @Override
    public void onPing(long opaque) {
      super.onPing(opaque);
      pings.add(opaque);
    }
  }

  /**
   * Connects to the relay's {@code path} with {@code bearer} (ticket or agent token), upgrades
   * (subprotocol {@code relaymesh.v1}) and sends SETTINGS {@code settings}; fails unless the
   * answer is {@code 101}.
   */
  static HostilePeer connect(int port, String caPem, String path, String bearer,
      Settings settings) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("relay", CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII))));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port);
    try {
      s.setSoTimeout(10_000);
      s.startHandshake();
      byte[] nonce = new byte[16];
      ThreadLocalRandom.current().nextBytes(nonce);
      String req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
          + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
          + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + WireSpec.SUBPROTOCOL + "\r\n"
          + "Authorization: Bearer " + bearer + "\r\n\r\n";
      s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = new java.io.BufferedInputStream(s.getInputStream());
      String head = readHead(in);
      if (!head.startsWith("HTTP/1.1 101")) {
        throw new IOException("upgrade of " + path + " refused: " + head.lines().findFirst()
            .orElse(""));
      }
      s.setSoTimeout(0); // the reader thread blocks until data, the end, or close()
      HostilePeer p = new HostilePeer(s, in);
      p.send(FrameWriter.settings(Buffer.buffer(), settings));
      p.readerThread.start();
      return p;
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    while (!b.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0 || b.length() > 16 * 1024) {
        throw new IOException("no complete upgrade answer: " + b);
      }
      b.append((char) c);
    }
    return b.toString();
  }

  /**
   * Sends {@code frames} as one binary WebSocket message, in masked WebSocket frames of at most
   * {@link #WS_FRAME} bytes (the relay's {@code maxWebSocketFrameSize}).
   */
  synchronized void send(Buffer frames) throws IOException {
    byte[] payload = frames.getBytes();
    int off = 0;
    do {
      int n = Math.min(WS_FRAME, payload.length - off);
      boolean last = off + n == payload.length;
      out.write(header(off == 0 ? 0x2 : 0x0, last, n));
      out.write(payload, off, n); // mask key 0: the payload goes as it is
      off += n;
    } while (off < payload.length);
    out.flush();
  }

  /**
   * Sends only the header of a binary WebSocket frame announcing {@code length} payload bytes,
   * and none of them.
   */
  synchronized void sendHeaderOnly(long length) throws IOException {
    out.write(header(0x2, true, length));
    out.flush();
  }

  /** A masked (key 0) frame header with the 7-bit, 16-bit or 64-bit length encoding. */
  private static byte[] header(int opcode, boolean fin, long length) {
    Buffer h = Buffer.buffer(14).appendUnsignedByte((short) ((fin ? 0x80 : 0) | opcode));
    if (length < 126) {
      h.appendUnsignedByte((short) (0x80 | length));
    } else if (length <= 0xFFFF) {
      h.appendUnsignedByte((short) (0x80 | 126)).appendUnsignedShort((int) length);
    } else {
      h.appendUnsignedByte((short) (0x80 | 127)).appendLong(length);
    }
    return h.appendInt(0).getBytes();
  }

  /** The next event the relay sent within {@code max}, or {@code null}. */
  String next(Duration max) throws InterruptedException {
    return queue.poll(max.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Events until one starts with {@code prefix} or the connection ends ({@code CLOSE ...},
   * {@code EOF}); returns it, or null after {@code max}.
   */
  String awaitEvent(String prefix, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      String e = left <= 0 ? null : next(Duration.ofNanos(left));
      if (e == null || e.startsWith(prefix) || e.startsWith("CLOSE") || e.equals("EOF")) {
        return e;
      }
    }
  }

  /**
   * From now on nothing more is read from the socket (the reader thread parks); what the relay
   * sends stays in its queues and the kernel's buffers, its PINGs go unanswered.
   */
  void stopReading() {
    reading = false;
  }

  private void readLoop() {
    try {
      while (!ended) {
        while (!reading) {
          if (ended) {
            return;
          }
          Thread.sleep(50);
        }
        readMessage();
      }
    } catch (IOException e) {
      end("EOF");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void readMessage() throws IOException {
    Buffer message = Buffer.buffer();
    while (true) {
      int b0;
      int b1;
      try {
        b0 = in.readUnsignedByte();
        b1 = in.readUnsignedByte();
      } catch (EOFException | javax.net.ssl.SSLException e) {
        end("EOF");
        return;
      }
      long len = b1 & 0x7F;
      if (len == 126) {
        len = in.readUnsignedShort();
      } else if (len == 127) {
        len = in.readLong();
      }
      if ((b1 & 0x80) != 0 || len > MAX_MESSAGE || message.length() + len > MAX_MESSAGE) {
        throw new IOException("relay sent a masked or oversized WebSocket frame (" + len + ")");
      }
      byte[] payload = new byte[(int) len];
      in.readFully(payload);
      int opcode = b0 & 0x0F;
      if (opcode == 0x8) {
        end("CLOSE " + (len >= 2 ? ((payload[0] & 0xFF) << 8 | (payload[1] & 0xFF)) : 1005));
        return;
      }
      if (opcode >= 0x8) {
        continue; // WebSocket ping/pong: ignored (this peer answers nothing)
      }
      message.appendBytes(payload);
      if ((b0 & 0x80) != 0) {
        try {
          reader.read(message, events);
        } catch (ProtocolException e) {
          throw new IOException("relay sent an undecodable message: " + e.getMessage(), e);
        }
        queue.addAll(events.events);
        trace.addAll(events.events);
        events.events.clear();
        if (!events.pings.isEmpty()) { // alive as long as it reads: only flooding is hostile
          Buffer pongs = Buffer.buffer();
          events.pings.forEach(opaque -> FrameWriter.pong(pongs, opaque));
          events.pings.clear();
          send(pongs);
        }
        return;
      }
    }
  }

  private void end(String event) {
    if (!ended) {
      ended = true;
      trace.add(event);
      queue.add(event);
    }
  }

  /** The last events read, for assertion messages. */
  String trace() {
    java.util.List<String> e = new java.util.ArrayList<>(trace);
    return "events from the relay: " + e.subList(Math.max(0, e.size() - 12), e.size());
  }

  /** Whether the relay ended the connection (a close frame or EOF was read). */
  boolean ended() {
    return ended;
  }

  @Override
  public void close() {
    ended = true;
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
