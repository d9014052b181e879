package io.relaymesh.relay.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/** A JDK TLS client with exact control over protocols, cipher suites and ALPN. */
final class TlsProbe {

  private TlsProbe() {}

  /** An SSL context trusting exactly {@code anchors}. */
  static SSLContext trusting(X509Certificate... anchors) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    for (int i = 0; i < anchors.length; i++) {
      ks.setCertificateEntry("anchor" + i, anchors[i]);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /**
   * Connects to 127.0.0.1:{@code port} as {@code localhost} (SNI and hostname verification) and
   * completes the handshake; null arrays keep the JDK defaults.
   */
  static SSLSocket connect(SSLContext ctx, int port, String[] protocols, String[] suites, String... alpn) throws IOException {
    Socket plain = new Socket();
    plain.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    plain.setSoTimeout(10_000);
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "localhost", port, true);
    try {
      SSLParameters p = s.getSSLParameters();
      if (protocols != null) {
        p.setProtocols(protocols);
      }
      if (suites != null) {
        p.setCipherSuites(suites);
      }
      p.setApplicationProtocols(alpn.length == 0 ? new String[] {"http/1.1"} : alpn);
      p.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(p);
      s.startHandshake();
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** The SHA-256 fingerprint of the certificate the server presented. */
  static String peerFingerprint(SSLSocket s) throws IOException {
    return PemMaterial.fingerprint(s.getSession().getPeerCertificates()[0]);
  }

  /** Sends an HTTP/1.1 GET on the (keep-alive) connection and returns status line and body. */
  static String get(SSLSocket s, String path) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = s.getInputStream();
    String head = readHead(in);
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    byte[] body = in.readNBytes(length);
    return head.substring(0, head.indexOf("\r\n")) + "\n" + new String(body, StandardCharsets.UTF_8);
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after " + buf.size() + " bytes of response head");
      }
      buf.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    return buf.toString(StandardCharsets.US_ASCII);
  }
}
