package io.relaymesh.relay.flood;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * Raw TCP and TLS sockets for {@link ConnectionFloodTest}: byte-exact control over what a slow
 * or silent client sends, which an HTTP client library would not give. Loopback only; the relay's
 * self-signed certificate is not checked (the tests are about timing, not trust).
 */
final class ConnRaw {
  private ConnRaw() {}

  private static final SSLContext TRUST_ALL = io.relaymesh.proxy.testutil.TrustAll.context();

  /** A plain TCP connection to the relay (no TLS handshake: the "silent" client). */
  static Socket tcp(int port) throws IOException {
    return tcp(port, null);
  }

  /** A plain TCP connection from source address {@code from} (null: any). */
  static Socket tcp(int port, InetAddress from) throws IOException {
    Socket s = new Socket();
    connect(s, port, from);
    return s;
  }

  /** Connects {@code s} to the relay on 127.0.0.1 from {@code from} (null: any). */
  private static void connect(Socket s, int port, InetAddress from) throws IOException {
    if (from != null) {
      s.bind(new InetSocketAddress(from, 0)); // any 127/8 address is the loopback on Linux
    }
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(20_000);
  }

  /** A TLS connection offering only {@code http/1.1}, handshake done. */
  static SSLSocket tls(int port) throws IOException {
    return tls(port, "http/1.1");
  }

  /** A TLS connection offering only ALPN protocol {@code alpn}, handshake done. */
  static SSLSocket tls(int port, String alpn) throws IOException {
    return tls(port, alpn, null);
  }

  /** A TLS connection from source address {@code from} (null: any), handshake done. */
  static SSLSocket tls(int port, String alpn, InetAddress from) throws IOException {
    SSLSocket s = (SSLSocket) TRUST_ALL.getSocketFactory().createSocket();
    try {
      connect(s, port, from);
      javax.net.ssl.SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {alpn});
      s.setSSLParameters(p);
      s.startHandshake();
      return s;
    } catch (IOException e) {
      s.close(); // e.g. the relay closed it at accept
      throw e;
    }
  }

  static void send(Socket s, String text) throws IOException {
    s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
  }

  /**
   * Reads until the peer closes or {@code max} passed; returns what came, or {@code null} when
   * the connection was still open at {@code max}. A reset counts as closed.
   */
  static String readToClose(Socket s, Duration max) throws IOException {
    long end = System.nanoTime() + max.toNanos();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    InputStream in = s.getInputStream();
    while (true) {
      long left = (end - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        return null;
      }
      s.setSoTimeout((int) Math.max(1, left));
      int n;
      try {
        n = in.read(buf);
      } catch (SocketTimeoutException e) {
        return null;
      } catch (IOException e) {
        return out.toString(StandardCharsets.ISO_8859_1); // reset or TLS close: closed
      }
      if (n < 0) {
        return out.toString(StandardCharsets.ISO_8859_1);
      }
      out.write(buf, 0, n);
    }
  }

  /** Reads up to the end of an answer's head (blank line); what came, however far it got. */
  static String readHead(Socket s, Duration max) throws IOException {
    long end = System.nanoTime() + max.toNanos();
    StringBuilder head = new StringBuilder();
    InputStream in = s.getInputStream();
    while (head.indexOf("\r\n\r\n") < 0) {
      long left = (end - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        break;
      }
      s.setSoTimeout((int) Math.max(1, left));
      int b;
      try {
        b = in.read();
      } catch (SocketTimeoutException e) {
        break;
      }
      if (b < 0) {
        break;
      }
      head.append((char) b);
    }
    return head.toString();
  }

  /** One request with {@code Connection: close} on a new TLS connection; the whole answer. */
  static String request(int port, String head) throws IOException {
    return request(port, head, null);
  }

  /** {@link #request(int, String)} from source address {@code from} (null: any). */
  static String request(int port, String head, InetAddress from) throws IOException {
    try (SSLSocket s = tls(port, "http/1.1", from)) {
      send(s, head);
      String r = readToClose(s, Duration.ofSeconds(20));
      return r == null ? "(no answer in 20 s)" : r;
    }
  }

  static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing a socket the relay closed already
    }
  }
}
