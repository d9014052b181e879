package io.relaymesh.relay.tls;

/**
 * A certificate or private key that cannot be used, with a message that names the setting, the
 * file and what is wrong, e.g. {@code relay.tls.key: /etc/relay/key.pem: no private key found
 * (expected PKCS#1, PKCS#8 or EC PEM)}. Messages never contain key material.
 */
public final class TlsMaterialException extends Exception {

  private final String setting;
  private final String source;

  public TlsMaterialException(String setting, String source, String problem) {
    this(setting, source, problem, null);
  }

  public TlsMaterialException(String setting, String source, String problem, Throwable cause) {
    super(setting + ": " + source + ": " + problem, cause);
    this.setting = setting;
    this.source = source;
  }

  /** The configuration key the material came from ({@code relay.tls.cert} or {@code relay.tls.key}). */
  public String setting() {
    return setting;
  }

  /** Where the material came from: a file path, or a description such as {@code <memory>}. */
  public String source() {
    return source;
  }
}
