package io.relaymesh.relay.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the relay's TLS set-up needs from configuration.
 *
 * @param certFile PEM certificate chain, leaf first ({@code relay.tls.cert}); null for a
 *     self-signed certificate
 * @param keyFile PEM private key ({@code relay.tls.key}); null exactly when {@code certFile} is
 * @param stateDir where a self-signed certificate is kept between restarts
 * @param hostnames names for a self-signed certificate: the relay host and the app wildcard
 *     ({@code *.apps.eu.example.com}); {@code localhost}, {@code 127.0.0.1} and {@code ::1} are
 *     always added
 * @param reloadInterval how often the certificate and key files are checked for changes
 * @param engine which TLS implementation to use
 */
public record TlsSettings(
    Path certFile,
    Path keyFile,
    Path stateDir,
    List<String> hostnames,
    Duration reloadInterval,
    TlsEngine.Preference engine) {

  public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(10);
  public static final TlsEngine.Preference DEFAULT_ENGINE = TlsEngine.Preference.AUTO;

  public TlsSettings {
    hostnames = List.copyOf(hostnames == null ? List.of() : hostnames);
    reloadInterval = reloadInterval == null ? DEFAULT_RELOAD_INTERVAL : reloadInterval;
    engine = engine == null ? DEFAULT_ENGINE : engine;
  }

  /** Certificate and key from files. */
  public static TlsSettings files(Path certFile, Path keyFile) {
    return new TlsSettings(Objects.requireNonNull(certFile, "certFile"),
        Objects.requireNonNull(keyFile, "keyFile"), null, List.of(), null, null);
  }

  /** A self-signed certificate kept in {@code stateDir}. */
  public static TlsSettings selfSigned(Path stateDir, List<String> hostnames) {
    return new TlsSettings(null, null, Objects.requireNonNull(stateDir, "stateDir"), hostnames, null, null);
  }

  public TlsSettings withEngine(TlsEngine.Preference engine) {
    return new TlsSettings(certFile, keyFile, stateDir, hostnames, reloadInterval, engine);
  }

  public TlsSettings withReloadInterval(Duration interval) {
    return new TlsSettings(certFile, keyFile, stateDir, hostnames, interval, engine);
  }

  /** Whether no certificate is configured and a self-signed one is used. */
  public boolean isSelfSigned() {
    return certFile == null;
  }

  /** Every problem, each naming its key; empty when the settings are usable. */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    if ((certFile == null) != (keyFile == null)) {
      problems.add(certFile == null
          ? "relay.tls.cert: missing (relay.tls.key is set; give both or neither)"
          : "relay.tls.key: missing (relay.tls.cert is set; give both or neither)");
    }
    if (certFile == null && keyFile == null && stateDir == null) {
      problems.add("relay.tls.state-dir: missing (needed to keep the self-signed certificate)");
    }
    if (reloadInterval.isNegative() || reloadInterval.isZero()) {
      problems.add("relay.tls.reload-interval: must be positive, was " + reloadInterval);
    }
    return problems;
  }

  /** Throws {@link IllegalArgumentException} listing {@link #problems()} if there are any. */
  public TlsSettings validate() {
    List<String> problems = problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
    return this;
  }
}
