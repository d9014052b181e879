package io.relaymesh.relay.tls;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.ServerSSLOptions;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's TLS set-up: the entry point the relay server calls.
 *
 * <pre>{@code
 * RelayTls tls = RelayTls.create(TlsSettings.files(certPath, keyPath));   // or TlsSettings.selfSigned(stateDir, names)
 * HttpServer server = vertx.createHttpServer(tls.configure(new HttpServerOptions().setPort(443)));
 * server.requestHandler(router).listen().onSuccess(s -> reloader = tls.watch(vertx, s));
 * // on shutdown: reloader.close();
 * }</pre>
 *
 * <p>Loads the configured PEM pair (or the self-signed certificate from the state directory,
 * generating it the first time), picks the engine (OpenSSL when available, else the JDK) and logs
 * both: {@code tls: engine openssl (BoringSSL)}, {@code tls: certificate ... sha256 AB:CD:...}.
 * The options it produces enforce {@link TlsPolicy}.
 */
public final class RelayTls {

  private static final Logger LOG = LoggerFactory.getLogger(RelayTls.class);

  private final TlsSettings settings;
  private final TlsEngine engine;
  private final PemMaterial material;
  private final CertificateReloader.Snapshot snapshot;

  private RelayTls(TlsSettings settings, TlsEngine engine, PemMaterial material, CertificateReloader.Snapshot snapshot) {
    this.settings = settings;
    this.engine = engine;
    this.material = material;
    this.snapshot = snapshot;
  }

  /**
   * Validates {@code settings}, loads or generates the certificate and selects the engine.
   *
   * @throws TlsMaterialException when the certificate or key files cannot be used
   * @throws IOException when the self-signed certificate cannot be stored
   * @throws IllegalArgumentException when the settings are inconsistent
   */
  public static RelayTls create(TlsSettings settings) throws TlsMaterialException, IOException {
    settings.validate();
    TlsEngine engine = TlsEngine.select(settings.engine());
    LOG.info("tls: engine {}", engine.description());
    PemMaterial material;
    CertificateReloader.Snapshot snapshot = null;
    if (settings.isSelfSigned()) {
      material = SelfSigned.loadOrCreate(settings.stateDir(), settings.hostnames());
    } else {
      snapshot = CertificateReloader.Snapshot.read(settings.certFile(), settings.keyFile());
      material = PemMaterial.parse(settings.certFile().toString(), snapshot.cert(),
          settings.keyFile().toString(), snapshot.key());
      LOG.info("tls: certificate from {} and {}: {}", settings.certFile(), settings.keyFile(), material);
      warnIfReadableByOthers(settings.keyFile());
    }
    return new RelayTls(settings, engine, material, snapshot);
  }

  /** Logs a warning when the key file can be read by users other than its owner and group. */
  static boolean warnIfReadableByOthers(java.nio.file.Path keyFile) {
    try {
      java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = java.nio.file.Files.getPosixFilePermissions(keyFile);
      if (perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
        LOG.warn("tls: {}: {} is readable by every user; restrict it (chmod 600)", PemMaterial.KEY_SETTING, keyFile);
        return true;
      }
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system, or unreadable attributes: nothing to say
    }
    return false;
  }

  /** The engine in use. */
  public TlsEngine engine() {
    return engine;
  }

  /** The certificate loaded at start (see {@link CertificateReloader#current()} for reloads). */
  public PemMaterial material() {
    return material;
  }

  /** Whether the certificate is the generated self-signed one. */
  public boolean selfSigned() {
    return settings.isSelfSigned();
  }

  /** SSL options for {@code material}, following {@link TlsPolicy}; what reloads hand to servers. */
  public static ServerSSLOptions sslOptions(PemMaterial material) {
    return TlsPolicy.applyTo(new ServerSSLOptions().setKeyCertOptions(material.toKeyCertOptions()));
  }

  /** SSL options for the loaded certificate. */
  public ServerSSLOptions sslOptions() {
    return sslOptions(material);
  }

  /**
   * Turns on TLS in {@code options}: engine, certificate, protocols, cipher suites, ALPN
   * ({@code h2}, {@code http/1.1}) and handshake timeout. Returns {@code options}.
   */
  public HttpServerOptions configure(HttpServerOptions options) {
    ServerSSLOptions ssl = sslOptions();
    options.setSsl(true)
        .setSslEngineOptions(engine.options())
        .setKeyCertOptions(ssl.getKeyCertOptions())
        .setEnabledSecureTransportProtocols(ssl.getEnabledSecureTransportProtocols())
        .setUseAlpn(true)
        .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
        .setSslHandshakeTimeout(ssl.getSslHandshakeTimeout())
        .setSslHandshakeTimeoutUnit(ssl.getSslHandshakeTimeoutUnit());
    List.copyOf(options.getEnabledCipherSuites()).forEach(options::removeEnabledCipherSuite);
    ssl.getEnabledCipherSuites().forEach(options::addEnabledCipherSuite);
    return options;
  }

  /**
   * Starts watching the certificate files and applies changes to {@code servers} (give every
   * instance when several verticles share the port). For a self-signed certificate nothing is
   * watched and the returned reloader is inert. The timer runs on the caller's Vert.x context (or
   * a new one when called from outside Vert.x).
   */
  public CertificateReloader watch(Vertx vertx, HttpServer... servers) {
    CertificateReloader reloader = watch(vertx);
    for (HttpServer s : servers) {
      reloader.addTarget(s::updateSSLOptions);
    }
    return reloader;
  }

  /**
   * Starts watching with no server attached yet: add targets with
   * {@link CertificateReloader#addTarget}, e.g. {@code netServer::updateSSLOptions} for a TCP/TLS
   * server.
   */
  public CertificateReloader watch(Vertx vertx) {
    return newReloader(vertx);
  }

  private CertificateReloader newReloader(Vertx vertx) {
    if (settings.isSelfSigned()) {
      return new CertificateReloader(vertx, null, null, null, material, RelayTls::sslOptions, settings.reloadInterval());
    }
    LOG.info("tls: watching {} and {} for changes every {}s", settings.certFile(), settings.keyFile(),
        settings.reloadInterval().toMillis() / 1000.0);
    return new CertificateReloader(vertx, settings.certFile(), settings.keyFile(), snapshot, material,
        RelayTls::sslOptions, settings.reloadInterval());
  }
}
