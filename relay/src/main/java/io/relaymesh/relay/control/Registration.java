package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this replica registered with the control plane: registers at start (retrying with
 * jittered backoff while the control plane is down or refuses), then heartbeats at the interval
 * the control plane returns, and registers again when a heartbeat answers
 * {@code 404 replica_not_registered}. After every (re-)registration {@code onRegistered} runs
 * (the relay re-reports its agents' presence, which a registration resets). The registration
 * carries the TLS certificate's SHA-256 fingerprint (for peer relays that pin it); a changed
 * fingerprint (reloaded certificate) registers again at the next heartbeat.
 *
 * <p>Threading: timers run on the context {@link #start()} is called on; the status accessors are
 * thread-safe.
 */
public final class Registration implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Registration.class);
  static final long MIN_RETRY_MS = 500;
  static final long MAX_RETRY_MS = 30_000;

  private final Vertx vertx;
  private final ControlClient control;
  private final String replicaId;
  private final String publicUrl;
  private final String appsHost;
  private final String peerAddress;
  private final String version;
  private final Supplier<String> tlsFingerprint;
  private final Runnable onRegistered;
  /** This process (each start registers with a new one): the control plane tells a restart. */
  private final String instanceId = java.util.UUID.randomUUID().toString();
  private volatile String registeredFingerprint;
  private final Promise<Void> firstRegistration = Promise.promise();
  private volatile boolean registered;
  private volatile String problem = "not registered with the control plane yet";
  private volatile boolean closed;
  private long timer = -1;
  private long heartbeatMs = 10_000;
  private int failures;

  public Registration(Vertx vertx, ControlClient control, String replicaId, String publicUrl,
      String appsHost, String version, Runnable onRegistered) {
    this(vertx, control, replicaId, publicUrl, appsHost, version, () -> null, onRegistered);
  }

  /**
   * With {@code tlsFingerprint}: the current certificate's SHA-256 fingerprint, registered for
   * peers that pin it; when it changes (a reloaded certificate) the replica registers again at
   * its next heartbeat.
   */
  public Registration(Vertx vertx, ControlClient control, String replicaId, String publicUrl,
      String appsHost, String version, Supplier<String> tlsFingerprint, Runnable onRegistered) {
    this(vertx, control, replicaId, publicUrl, appsHost, null, version, tlsFingerprint,
        onRegistered);
  }

  /**
   * With {@code peerAddress}: where peer relays dial this replica when they forward to it
   * ({@code null}: its public URL).
   */
  public Registration(Vertx vertx, ControlClient control, String replicaId, String publicUrl,
      String appsHost, String peerAddress, String version, Supplier<String> tlsFingerprint,
      Runnable onRegistered) {
    this.vertx = vertx;
    this.peerAddress = peerAddress;
    this.tlsFingerprint = tlsFingerprint;
    this.control = control;
    this.replicaId = replicaId;
    this.publicUrl = publicUrl;
    this.appsHost = appsHost;
    this.version = version;
    this.onRegistered = onRegistered;
  }

  /** Starts registering; returns at once. */
  public void start() {
    register();
  }

  /** Completes when the replica registered for the first time. */
  public Future<Void> firstRegistration() {
    return firstRegistration.future();
  }

  /** Whether the last registration holds (no heartbeat said it was forgotten since). */
  public boolean registered() {
    return registered;
  }

  /** Why the replica is not registered, or {@code null} when it is. */
  public String problem() {
    return registered ? null : problem;
  }

  private void register() {
    if (closed) {
      return;
    }
    String fingerprint = tlsFingerprint.get();
    control.register(replicaId, publicUrl, appsHost, peerAddress, version, fingerprint, instanceId)
        .onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        registered = false;
        problem = "not registered with the control plane: " + ar.cause().getMessage();
        long delay = ControlClient.jitter(Math.min(MAX_RETRY_MS, MIN_RETRY_MS << Math.min(failures++, 10)));
        if (failures == 1 || failures % 10 == 0) {
          LOG.warn("relay: {} (attempt {}, retrying in {} ms)", problem, failures, delay);
        }
        schedule(delay, this::register);
        return;
      }
      failures = 0;
      registeredFingerprint = fingerprint;
      JsonObject r = ar.result();
      heartbeatMs = Math.max(1, r.getLong("heartbeatIntervalSeconds", 10L)) * 1000;
      registered = true;
      problem = null;
      LOG.info("relay: registered replica {} of region {} at {} as {} (heartbeat every {}s)",
          replicaId, r.getString("region"), control.baseUrl(), publicUrl, heartbeatMs / 1000);
      firstRegistration.tryComplete();
      try {
        onRegistered.run();
      } catch (RuntimeException e) {
        LOG.warn("relay: after registration: {}", e.toString());
      }
      schedule(heartbeatMs, this::heartbeat);
    });
  }

  private void heartbeat() {
    if (closed) {
      return;
    }
    String fingerprint = tlsFingerprint.get();
    if (fingerprint != null && !fingerprint.equals(registeredFingerprint)) {
      LOG.info("relay: TLS certificate changed (sha256 {}); registering again", fingerprint);
      register();
      return;
    }
    control.heartbeat(replicaId).onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.succeeded()) {
        if (failures > 0) {
          LOG.info("relay: heartbeats to {} work again", control.baseUrl());
        }
        failures = 0;
        registered = true;
        problem = null;
        schedule(heartbeatMs, this::heartbeat);
      } else if (ar.cause() instanceof ControlException ce && ce.status() == 404) {
        registered = false;
        problem = "the control plane forgot this replica (" + ce.code() + "); registering again";
        LOG.warn("relay: {}", problem);
        register();
      } else {
        if (ar.cause() instanceof ControlException ce && (ce.status() == 401
            || ce.status() == 403)) {
          // the token was revoked (or replaced): the control plane no longer lists this replica,
          // so it must leave the load balancer too (readiness) until a current token is given
          registered = false;
          problem = "the control plane refuses this relay's token: " + ce.getMessage();
        }
        // the first failure, then every 30th (a few minutes apart): a lasting refusal stays visible
        if (failures++ % 30 == 0) {
          LOG.atWarn().setMessage("relay: heartbeat failed").addKeyValue("failures", failures)
              .addKeyValue("error", ar.cause().getMessage()).log();
        }
        schedule(Math.min(heartbeatMs, ControlClient.jitter(MIN_RETRY_MS << Math.min(failures, 10))),
            this::heartbeat);
      }
    });
  }

  private void schedule(long delayMs, Runnable task) {
    if (!closed) {
      timer = vertx.setTimer(delayMs, id -> task.run());
    }
  }

  /** Stops registering and heartbeating (the control plane marks the replica unhealthy later). */
  @Override
  public void close() {
    closed = true;
    registered = false;
    problem = "relay is shutting down";
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    firstRegistration.tryFail("relay closed before it registered");
  }

  Duration heartbeatInterval() {
    return Duration.ofMillis(heartbeatMs);
  }
}
