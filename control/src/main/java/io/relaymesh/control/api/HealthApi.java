package io.relaymesh.control.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * The probes and the metrics of the control plane, outside {@code /api/v1/}:
 * {@code GET /healthz} (the process answers; no database), {@code GET /readyz} (the database
 * answers within {@link #PROBE_TIMEOUT} and its schema is at least the version this build
 * migrated to) and {@code GET /metrics} (Prometheus text; the relay gauges are read from the
 * database first, within the same timeout).
 */
final class HealthApi {

  /** How long a probe waits for the database. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

  private final Services s;

  HealthApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    r.get("/healthz").handler(ctx -> Api.write(ctx,
        Api.Reply.ok(new JsonObject().put("status", "ok"))));
    r.get("/readyz").handler(this::ready);
    r.route("/metrics").handler(this::metrics);
  }

  private void ready(RoutingContext ctx) {
    s.db().ping(PROBE_TIMEOUT)
        .recover(e -> Future.failedFuture(new NotReady("database_unavailable",
            "the database is not reachable (" + (e instanceof TimeoutException
                ? "no answer within " + PROBE_TIMEOUT.toSeconds() + "s" : "connection failed")
                + ")")))
        .compose(x -> schemaCheck())
        .onSuccess(v -> Api.write(ctx, Api.Reply.ok(new JsonObject().put("status", "ready")
            .put("schemaVersion", s.schemaVersion()))))
        .onFailure(e -> {
          NotReady n = e instanceof NotReady nr ? nr
              : new NotReady("not_ready", "readiness check failed: " + e.getClass().getSimpleName());
          Api.write(ctx, new Api.Reply(503, new JsonObject().put("code", n.code)
              .put("message", n.getMessage())));
        });
  }

  /** Fails with {@link NotReady} when a migration failed or the schema is behind this build. */
  private Future<Void> schemaCheck() {
    return s.db().list("health.schema", "SELECT version, success FROM flyway_schema_history "
            + "WHERE version IS NOT NULL", Tuple.tuple(), (Row r) -> r)
        .timeout(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .recover(e -> Future.failedFuture(new NotReady("database_unavailable",
            "cannot read the schema history: " + e.getClass().getSimpleName())))
        .compose(rows -> {
          MigrationVersion applied = null;
          for (Row row : rows) {
            if (!Boolean.TRUE.equals(row.getBoolean("success"))) {
              return Future.failedFuture(new NotReady("schema_not_current", "schema migration "
                  + row.getString("version") + " failed; see the control-plane log"));
            }
            MigrationVersion v = MigrationVersion.fromVersion(row.getString("version"));
            applied = applied == null || v.compareTo(applied) > 0 ? v : applied;
          }
          MigrationVersion expected = MigrationVersion.fromVersion(s.schemaVersion());
          if (applied == null || applied.compareTo(expected) < 0) {
            return Future.failedFuture(new NotReady("schema_not_current", "database schema is at "
                + "version " + (applied == null ? "none" : applied.getVersion()) + ", this "
                + "control plane needs " + expected.getVersion()));
          }
          return Future.succeededFuture();
        });
  }

  /** The relay-count query in flight, shared by concurrent scrapes (one query at a time). */
  private volatile io.vertx.core.Future<long[]> counting;

  private void metrics(RoutingContext ctx) {
    io.vertx.core.Future<long[]> c0 = counting;
    if (c0 == null || c0.isComplete()) {
      c0 = s.relays().healthCounts().timeout(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      counting = c0;
    }
    c0.onSuccess(c -> s.metrics().relays(c[0], c[1]))
        // the last known relay counts are served when the database does not answer
        .onComplete(x -> s.metrics().metrics().handle(ctx.request()));
  }

  /** Why the control plane is not ready: a stable code and a message. */
  private static final class NotReady extends RuntimeException {
    final String code;

    NotReady(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }
}
