package io.relaymesh.proxy.dial;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.X509TrustManager;

/** Trusts exactly the server leaf certificate with a given SHA-256 DER digest. */
final class PinnedTrustManager implements X509TrustManager {
  private final byte[] pin;

  PinnedTrustManager(byte[] pin) {
    this.pin = pin.clone();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("server presented no certificate");
    }
    byte[] got;
    try {
      got = MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded());
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new CertificateException("cannot fingerprint the server certificate: " + e.getMessage(), e);
    }
    if (!MessageDigest.isEqual(got, pin)) {
      throw new CertificateException("server certificate fingerprint mismatch: pinned sha256 "
          + HexFormat.ofDelimiter(":").formatHex(pin) + ", server presented sha256 "
          + HexFormat.ofDelimiter(":").formatHex(got) + " (" + chain[0].getSubjectX500Principal() + ")");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("client certificates are not checked by a tunnel client");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
