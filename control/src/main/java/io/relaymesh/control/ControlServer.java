package io.relaymesh.control;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.api.ApiRouter;
import io.relaymesh.control.apps.AppAccess;
import io.relaymesh.control.api.Services;
import io.relaymesh.control.auth.Passwords;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.ConnectionStore;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.EmbeddedPostgresServer;
import io.relaymesh.control.store.HandoffStore;
import io.relaymesh.control.store.Migrations;
import io.relaymesh.control.store.Model.User;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.store.RelayStore;
import io.relaymesh.control.store.SessionStore;
import io.relaymesh.control.store.SettingsStore;
import io.relaymesh.control.store.ShareStore;
import io.relaymesh.control.store.UserStore;
import io.relaymesh.control.store.WorkspaceStore;
import io.relaymesh.control.tickets.SigningKeys;
import io.relaymesh.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane: PostgreSQL (embedded in {@code <data-dir>/postgres} unless a URL is given),
 * Flyway migrations, the JSON API under {@code /api/v1/}. Any number of instances may share one
 * database; the only in-process state is the signing-key cache (10 s).
 *
 * <p>{@link #start} does the blocking work (PostgreSQL, migrations) on a worker thread and
 * completes once the API listens. {@link #close} stops everything it started.
 */
public final class ControlServer {

  private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
  static final long KEY_CHECK_INTERVAL_MS = 60_000;

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final ControlConfig config;
  private EmbeddedPostgresServer embedded;
  private PostgresTarget target;
  private Db db;
  private HttpServer http;
  private Services services;
  private String url;
  private long keyTimer = -1;
  private RelayLossWatch lossWatch;
  private volatile Router router;
  private Metrics metrics;
  private ControlMetrics controlMetrics;
  private String schemaVersion;

  private ControlServer(Vertx vertx, boolean ownsVertx, ControlConfig config) {
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
    this.config = config;
  }

  /**
   * Starts a control plane on its own Vert.x instance and waits until it listens. On failure
   * everything started is stopped again before the exception is thrown. Stop it with
   * {@link #stop()}. Call from a plain thread (CLI main, tests), never from a Vert.x thread.
   */
  public static ControlServer run(ControlConfig config) {
    Vertx vertx = Vertx.vertx();
    ControlServer s = new ControlServer(vertx, true, config);
    Future<ControlServer> started = validate(config).compose(x -> s.doStart());
    try {
      return started.toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      s.stop();
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
          ? e.getCause() : e;
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("control plane did not start: " + cause, cause);
    }
  }

  /** Starts a control plane on {@code vertx}, which {@link #close} leaves running. */
  public static Future<ControlServer> start(Vertx vertx, ControlConfig config) {
    ControlServer s = new ControlServer(vertx, false, config);
    return validate(config).compose(x -> s.doStart())
        .recover(e -> s.close().transform(x -> Future.failedFuture(e)));
  }

  private static Future<Void> validate(ControlConfig config) {
    List<String> problems = new ArrayList<>();
    config.validate("server", problems);
    return problems.isEmpty() ? Future.succeededFuture() : Future.failedFuture(
        new IllegalArgumentException("invalid configuration: " + String.join("; ", problems)));
  }

  private Future<ControlServer> doStart() {
    return vertx.executeBlocking(() -> {
      if (config.postgresUrl() == null || config.postgresUrl().isBlank()) {
        embedded = EmbeddedPostgresServer.start(config.dataDir());
        target = embedded.target();
      } else {
        target = PostgresTarget.parse(config.postgresUrl());
      }
      MigrateResult m = Migrations.migrate(target);
      schemaVersion = m.targetSchemaVersion != null ? m.targetSchemaVersion
          : m.initialSchemaVersion;
      return target;
    }, false).compose(t -> {
      metrics = Metrics.create();
      controlMetrics = new ControlMetrics(metrics);
      db = Db.create(vertx, t, 8, metrics.registry());
      long hb = config.heartbeatTimeout().toSeconds();
      String host = host(config.listen());
      int port = port(config.listen());
      http = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port)
          .setIdleTimeout(120).setIdleTimeoutUnit(TimeUnit.SECONDS));
      SigningKeys keys = new SigningKeys(db, config.keyRotation(), config.ticketTtl());
      // the access URL may depend on the bound port: route only once everything is built
      http.requestHandler(req -> {
        Router r = router;
        if (r == null) {
          req.response().setStatusCode(503).putHeader("Content-Type", "application/json")
              .end("{\"code\":\"starting\",\"message\":\"the control plane is starting\"}");
        } else {
          r.handle(req);
        }
      });
      return keys.current().compose(k -> http.listen()).map(server -> {
        String bindHost = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        url = config.accessUrl() != null && !config.accessUrl().isBlank()
            ? stripSlash(config.accessUrl())
            : "http://" + (bindHost.contains(":") ? "[" + bindHost + "]" : bindHost) + ":"
                + server.actualPort();
        WorkspaceStore workspaces = new WorkspaceStore(db, hb);
        RelayStore relays = new RelayStore(db, hb);
        ShareStore shares = new ShareStore(db);
        SettingsStore settings = new SettingsStore(db);
        ConnectionStore connections = new ConnectionStore(db);
        services = new Services(vertx, config, url, db, new UserStore(db), new SessionStore(db),
            workspaces, relays, connections, keys, shares, settings,
            new HandoffStore(db), new AppAccess(config, shares, settings, workspaces, relays),
            controlMetrics, schemaVersion);
        router = ApiRouter.create(services);
        SessionStore sessions = services.sessions();
        HandoffStore handoffs = services.handoffs();
        keyTimer = vertx.setPeriodic(KEY_CHECK_INTERVAL_MS, id -> {
          keys.current().onFailure(e -> log.warn("signing key check failed: {}", e.getMessage()));
          sessions.prune().onFailure(e -> log.warn("session cleanup failed: {}", e.getMessage()));
          handoffs.prune().onFailure(e -> log.warn("handoff code cleanup failed: {}",
              e.getMessage()));
        });
        lossWatch = new RelayLossWatch(db, connections, config.heartbeatTimeout(),
            System::nanoTime);
        lossWatch.start(vertx);
        log.info("control plane listening on {} (database {})", url, target.describe());
        return this;
      });
    });
  }

  /** The URL under which this control plane is reached (access URL or the bound address). */
  public String url() {
    return url;
  }

  public int port() {
    return http.actualPort();
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The database in use (embedded or external). */
  public PostgresTarget database() {
    return target;
  }

  /** The app access checks and share policy (docs/apps.md); {@code null} before start. */
  public AppAccess apps() {
    return services == null ? null : services.apps();
  }

  /** The handoff codes of the browser app flow; {@code null} before start. */
  public HandoffStore handoffs() {
    return services == null ? null : services.handoffs();
  }

  /** This control plane's meters (also served at {@code GET /metrics}); {@code null} before start. */
  public ControlMetrics metrics() {
    return controlMetrics;
  }

  /** Whether PostgreSQL runs embedded in this process's data dir. */
  public boolean embeddedDatabase() {
    return embedded != null;
  }

  /** Waits (from a plain thread) for {@code f}; its failure is rethrown unwrapped. */
  public static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re
          : new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("timed out", e);
    }
  }

  /**
   * Replaces the ticket signing key at once, e.g. after a suspected compromise (the old one
   * stays published until its tickets expire). Scheduled rotations pre-publish instead.
   */
  public Future<com.nimbusds.jose.jwk.ECKey> rotateSigningKey() {
    return services.keys().rotate(java.time.Duration.ZERO, true);
  }

  /** Creates an admin user (for {@code relaymesh server --create-admin}). */
  public Future<User> createAdmin(String username, String password) {
    String weak = Passwords.weakness(password);
    if (weak != null) {
      return Future.failedFuture(ControlException.badRequest(weak));
    }
    if (!username.matches("[a-z0-9]+(-[a-z0-9]+)*") || username.length() > 32) {
      return Future.failedFuture(ControlException.badRequest("user name '" + username
          + "' is invalid: use lowercase letters, digits and single dashes, at most 32 characters"));
    }
    return vertx.executeBlocking(() -> Passwords.hash(password), false)
        .compose(h -> services.users().create(username, h, true));
  }

  /**
   * The relay token of this server's built-in relay in {@code region}: {@code current} while it
   * is an active relay token of that region, else a new one, added to the region (which is
   * created when missing). Only the token's hash is stored; the caller keeps the token.
   */
  public Future<String> builtinRelayToken(String region, String current) {
    Future<io.relaymesh.control.auth.Principal.Relay> known = current == null
        || !Tokens.wellFormed(current, TokenKind.RELAY) ? Future.succeededFuture(null)
        : services.relays().authenticate(Tokens.hash(current))
            // a revoked token is refused with an error: replace it like an unknown one
            .recover(e -> e instanceof ControlException ce && ce.status() == 401
                ? Future.succeededFuture(null) : Future.failedFuture(e));
    return known.compose(p -> {
      if (p != null && p.region().equals(region)) {
        return Future.succeededFuture(current);
      }
      String token = Tokens.generate(TokenKind.RELAY);
      byte[] hash = Tokens.hash(token);
      var relays = services.relays();
      return relays.regionId(region).compose(id -> id != null
              ? relays.createToken(id, hash).<Void>mapEmpty()
              // a region created meanwhile by someone else: add the token to it
              : relays.createRegion(region, hash).<Void>mapEmpty().recover(e -> relays
                  .regionId(region).compose(again -> again == null ? Future.failedFuture(e)
                      : relays.createToken(again, hash).<Void>mapEmpty())))
          .map(x -> {
            log.atInfo().setMessage("built-in relay token created")
                .addKeyValue("region", region).log();
            return token;
          });
    });
  }

  /**
   * Stops the API, the pool and the embedded PostgreSQL. A Vert.x instance owned by this server
   * (see {@link #run}) is closed by {@link #stop()} only.
   */
  public Future<Void> close() {
    return closeResources();
  }

  private Future<Void> closeResources() {
    if (keyTimer >= 0) {
      vertx.cancelTimer(keyTimer);
      keyTimer = -1;
    }
    if (lossWatch != null) {
      lossWatch.stop(vertx);
      lossWatch = null;
    }
    router = null;
    Future<Void> f = http == null ? Future.succeededFuture() : http.close();
    return f.eventually(() -> db == null ? Future.succeededFuture() : db.pool().close())
        .eventually(() -> {
          if (metrics != null) {
            metrics.close();
            metrics = null;
          }
          return Future.succeededFuture();
        })
        .eventually(() -> {
          if (embedded == null) {
            return Future.succeededFuture();
          }
          EmbeddedPostgresServer e = embedded;
          embedded = null;
          return vertx.executeBlocking(() -> {
            e.close();
            return null;
          }, false).mapEmpty();
        });
  }

  /**
   * Blocking stop, for the CLI's shutdown hook and tests: everything {@link #close} stops, then
   * the owned Vert.x instance. Call from a plain thread.
   */
  public void stop() {
    try {
      closeResources().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("control plane did not stop cleanly: {}", e.toString());
    }
    if (ownsVertx) {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("Vert.x did not close cleanly: {}", e.toString());
      }
    }
  }

  static String host(String listen) {
    int i = listen.lastIndexOf(':');
    String h = listen.substring(0, i);
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }

  static int port(String listen) {
    return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
  }

  private static String stripSlash(String u) {
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }
}
