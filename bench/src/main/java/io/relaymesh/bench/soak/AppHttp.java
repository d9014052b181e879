package io.relaymesh.bench.soak;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * One HTTPS request to a shared workspace app at the relay, on a fresh connection (TLS handshake,
 * SNI and Host = the app's host name, {@code Connection: close}): the status and the body (chunked
 * decoded). The relay's self-signed certificate is not verified: the soak tests the path, not PKI.
 */
final class AppHttp {

  private static final SSLContext TLS = trustAll();

  private AppHttp() {}

  record Response(int status, String body) {}

  static Response get(int relayPort, String host, String path, int timeoutMs) throws IOException {
    try (Socket raw = new Socket()) {
      raw.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), relayPort), timeoutMs);
      raw.setSoTimeout(timeoutMs);
      try (SSLSocket s = (SSLSocket) TLS.getSocketFactory().createSocket(raw, host, relayPort, true)) {
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(host)));
        s.setSSLParameters(p);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host
            + "\r\nConnection: close\r\nUser-Agent: relaymesh-soak\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return parse(s.getInputStream().readAllBytes());
      }
    }
  }

  static Response parse(byte[] raw) throws IOException {
    String all = new String(raw, StandardCharsets.ISO_8859_1);
    int end = all.indexOf("\r\n\r\n");
    if (!all.startsWith("HTTP/1.") || end < 0) {
      throw new IOException("not an HTTP response (" + raw.length + " bytes): "
          + all.substring(0, Math.min(80, all.length())).replaceAll("\\s+", " "));
    }
    String head = all.substring(0, end);
    int status = Integer.parseInt(head.substring(9, 12));
    String body = all.substring(end + 4);
    if (head.toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked")) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int i = 0;
      while (true) {
        int eol = body.indexOf("\r\n", i);
        if (eol < 0) {
          throw new IOException("chunked body cut short");
        }
        int len = Integer.parseInt(body.substring(i, eol).split(";")[0].trim(), 16);
        if (len == 0) {
          break;
        }
        if (eol + 2 + len > body.length()) {
          throw new IOException("chunked body cut short");
        }
        out.writeBytes(body.substring(eol + 2, eol + 2 + len).getBytes(StandardCharsets.ISO_8859_1));
        i = eol + 2 + len + 2;
      }
      body = out.toString(StandardCharsets.ISO_8859_1);
    }
    return new Response(status, body);
  }

  private static SSLContext trustAll() {
    try {
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {new X509ExtendedTrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, new SecureRandom());
      return c;
    } catch (Exception e) {
      throw new IllegalStateException("TLS context", e);
    }
  }
}
