package io.relaymesh.relay.tls;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.ServerSSLOptions;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the certificate and key files and hands a changed, valid pair to the servers through
 * {@code updateSSLOptions}: new connections get the new certificate, open ones keep theirs.
 *
 * <p>Every {@code interval} the two files are read and hashed (content, not mtime: Kubernetes
 * secret volumes swap a symlink and keep old mtimes). When the content changed it is parsed; a
 * broken or mismatched pair (say, the certificate written but not yet the key) is logged once per
 * distinct content and the current certificate stays.
 *
 * <p>Threading: state lives on the Vert.x context that created the reloader; file reads and
 * parsing run on a worker. Public methods may be called from any thread.
 */
public final class CertificateReloader implements AutoCloseable {

  /** Outcome of one check. */
  public enum Result {
    /** The files are those of the certificate in use. */
    UNCHANGED,
    /** A new certificate was parsed and applied to every server. */
    RELOADED,
    /**
     * The files differ from those in use but cannot be used (or cannot be read); the previous
     * certificate stays. Repeated on every check until the files are fixed, logged once.
     */
    FAILED
  }

  private static final Logger LOG = LoggerFactory.getLogger(CertificateReloader.class);

  private final Vertx vertx;
  private final Context context;
  private final Path certFile;
  private final Path keyFile;
  private final Function<PemMaterial, ServerSSLOptions> optionsFactory;
  private final List<Function<ServerSSLOptions, Future<Boolean>>> targets = new CopyOnWriteArrayList<>();
  private final long timerId;

  // context-confined
  private byte[] lastDigest;
  private String lastFailure; // digest of the files, or the error when they could not be read
  private Future<Result> inFlight;
  private volatile PemMaterial current;
  private volatile String lastError;
  private volatile boolean closed;

  CertificateReloader(Vertx vertx, Path certFile, Path keyFile, Snapshot initial, PemMaterial material,
      Function<PemMaterial, ServerSSLOptions> optionsFactory, Duration interval) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.optionsFactory = optionsFactory;
    this.lastDigest = initial == null ? null : initial.digest();
    this.current = material;
    this.timerId = certFile == null ? -1
        : vertx.setPeriodic(interval.toMillis(), interval.toMillis(), id -> {
          if (!closed) {
            check();
          }
        });
  }

  /** Applies reloaded certificates to {@code target}, e.g. {@code server::updateSSLOptions}. */
  public CertificateReloader addTarget(Function<ServerSSLOptions, Future<Boolean>> target) {
    targets.add(target);
    return this;
  }

  /** Whether files are watched (false for a self-signed certificate). */
  public boolean watching() {
    return certFile != null;
  }

  /** The certificate currently served to new connections. */
  public PemMaterial current() {
    return current;
  }

  /** Why the last changed files could not be used; null after a successful load. */
  public String lastError() {
    return lastError;
  }

  /** Checks the files now (the timer does the same every interval). */
  public Future<Result> check() {
    if (certFile == null || closed) {
      return Future.succeededFuture(Result.UNCHANGED);
    }
    Promise<Result> promise = Promise.promise();
    context.runOnContext(v -> {
      Future<Result> running = inFlight;
      if (running == null) {
        Promise<Result> done = Promise.promise();
        running = done.future();
        inFlight = running;
        // clear before completing, so that a caller woken by the result starts a fresh check
        doCheck().onComplete(ar -> {
          inFlight = null;
          if (ar.succeeded()) {
            done.complete(ar.result());
          } else {
            done.fail(ar.cause());
          }
        });
      }
      running.onComplete(promise);
    });
    return promise.future();
  }

  private Future<Result> doCheck() {
    byte[] known = lastDigest; // read on the context, compared on the worker
    return context.<Object>executeBlocking(() -> {
      Snapshot snap;
      try {
        snap = Snapshot.read(certFile, keyFile);
      } catch (TlsMaterialException e) {
        return new Failed(null, e.getMessage());
      }
      if (Arrays.equals(snap.digest(), known)) {
        return Result.UNCHANGED;
      }
      try {
        return new Parsed(snap, PemMaterial.parse(certFile.toString(), snap.cert(), keyFile.toString(), snap.key()));
      } catch (TlsMaterialException e) {
        return new Failed(snap, e.getMessage());
      }
    }).compose(outcome -> {
      if (outcome instanceof Result r) { // UNCHANGED: the files are those in use (again)
        lastFailure = null;
        lastError = null;
        return Future.succeededFuture(r);
      }
      if (outcome instanceof Failed f) {
        return Future.succeededFuture(failed(f.snap == null ? f.error : hex(f.snap.digest()), f.error));
      }
      Parsed p = (Parsed) outcome;
      ServerSSLOptions options = optionsFactory.apply(p.material);
      List<Future<Boolean>> updates = new ArrayList<>();
      for (Function<ServerSSLOptions, Future<Boolean>> t : targets) {
        updates.add(t.apply(options.copy()));
      }
      return Future.join(updates).transform(ar -> {
        if (ar.failed()) {
          return Future.succeededFuture(failed(hex(p.snap.digest()),
              "the TLS engine refused the new certificate: " + ar.cause().getMessage()));
        }
        String old = current.sha256Fingerprint();
        lastDigest = p.snap.digest();
        lastFailure = null;
        lastError = null;
        current = p.material;
        LOG.info("tls: certificate reloaded from {}: {} (was sha256 {})", certFile, p.material, old);
        return Future.succeededFuture(Result.RELOADED);
      });
    }, err -> Future.succeededFuture(failed(String.valueOf(err), "certificate check failed: " + err)));
  }

  /** Records a failure; logs it unless the same files (or the same error) were reported last time. */
  private Result failed(String key, String error) {
    if (!key.equals(lastFailure)) {
      LOG.warn("tls: not reloading the certificate, keeping sha256 {}: {}", current.sha256Fingerprint(), error);
    }
    lastFailure = key;
    lastError = error;
    return Result.FAILED;
  }

  private static String hex(byte[] digest) {
    return java.util.HexFormat.of().formatHex(digest);
  }

  /** Stops watching. Servers keep the certificate they have. */
  @Override
  public void close() {
    closed = true;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
  }

  private record Parsed(Snapshot snap, PemMaterial material) {}

  private record Failed(Snapshot snap, String error) {}

  /** The bytes of the two files and a digest over both. */
  record Snapshot(byte[] cert, byte[] key, byte[] digest) {

    static Snapshot read(Path certFile, Path keyFile) throws TlsMaterialException {
      byte[] cert = PemMaterial.read(PemMaterial.CERT_SETTING, certFile);
      byte[] key = certFile.equals(keyFile) ? cert : PemMaterial.read(PemMaterial.KEY_SETTING, keyFile);
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(cert);
        md.update((byte) 0);
        md.update(key);
        return new Snapshot(cert, key, md.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
