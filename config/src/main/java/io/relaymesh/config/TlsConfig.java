package io.relaymesh.config;

import java.nio.file.Path;
import java.util.List;

/**
 * TLS certificate of a server; both files or neither (then a self-signed certificate is
 * generated). Section {@code relay.tls}: flags {@code --tls-cert}, {@code --tls-key}.
 *
 * @param cert PEM certificate chain file
 * @param key PEM private key file (the file is a path, not a secret itself)
 * @param stateDir where the generated self-signed certificate is kept across restarts;
 *     {@code null}: {@link #DEFAULT_STATE_DIR}
 * @param engine TLS implementation: {@code auto} (OpenSSL when it loads, else the JDK),
 *     {@code openssl} or {@code jdk}
 */
public record TlsConfig(
    @Doc("PEM certificate chain file; with tls.key, else a self-signed certificate is generated")
    Path cert,
    @Doc("PEM private key file of tls.cert")
    Path key,
    @Doc("directory keeping the generated self-signed certificate across restarts")
    Path stateDir,
    @Doc("TLS implementation: auto (OpenSSL when available, else the JDK), openssl or jdk")
    String engine)
    implements ConfigSection {

  public static final Path DEFAULT_STATE_DIR =
      Path.of(System.getProperty("user.home"), ".local", "share", "relaymesh", "relay-tls");
  public static final String DEFAULT_ENGINE = "auto";

  /** Certificate and key files (or neither), default state directory and engine. */
  public TlsConfig(Path cert, Path key) {
    this(cert, key, DEFAULT_STATE_DIR, DEFAULT_ENGINE);
  }

  public static TlsConfig defaults() {
    return new TlsConfig(null, null);
  }

  public TlsConfig withStateDir(Path value) {
    return new TlsConfig(cert, key, value, engine);
  }

  public TlsConfig withEngine(String value) {
    return new TlsConfig(cert, key, stateDir, value);
  }

  /** Whether a certificate is configured. */
  public boolean enabled() {
    return cert != null;
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (cert != null && key == null) {
      problems.add(ConfigSection.key(path, "key") + ": required when "
          + ConfigSection.key(path, "cert") + " is set");
    } else if (key != null && cert == null) {
      problems.add(ConfigSection.key(path, "cert") + ": required when "
          + ConfigSection.key(path, "key") + " is set");
    }
    Checks.readableFile(problems, path, "cert", cert);
    Checks.readableFile(problems, path, "key", key);
    if (cert == null && stateDir == null) {
      problems.add(ConfigSection.key(path, "state-dir")
          + ": required for the self-signed certificate when no tls.cert is set");
    }
    if (engine != null && !engine.matches("(?i)auto|openssl|jdk")) {
      problems.add(ConfigSection.key(path, "engine") + ": invalid engine \"" + engine
          + "\" (expected auto, openssl or jdk)");
    }
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
