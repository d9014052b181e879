package io.relaymesh.config;

import java.nio.file.Path;
import java.util.List;

/**
 * TLS certificate of a server; both files or neither (then a self-signed certificate is
 * generated). Section {@code relay.tls}: flags {@code --tls-cert}, {@code --tls-key}.
 *
 * @param cert PEM certificate chain file
 * @param key PEM private key file (the file is a path, not a secret itself)
 */
public record TlsConfig(
    @Doc("PEM certificate chain file; with tls.key, else a self-signed certificate is generated")
    Path cert,
    @Doc("PEM private key file of tls.cert")
    Path key)
    implements ConfigSection {

  public static TlsConfig defaults() {
    return new TlsConfig(null, null);
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
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
