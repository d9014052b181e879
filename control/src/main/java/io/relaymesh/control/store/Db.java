package io.relaymesh.control.store;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.relaymesh.control.ControlException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The reactive connection pool plus small query helpers shared by the stores.
 *
 * <p>Every query names its store operation ({@code sessions.find}, a constant at the call site,
 * never derived from input) and is timed as {@code relaymesh_control_db_query_seconds{query,
 * outcome}}; a transaction is timed as a whole under its operation. Connections are borrowed
 * through {@link #acquire()} so the pool gauges ({@code relaymesh_control_db_pool_connections},
 * {@code relaymesh_control_db_pool_waiting}) are exact: the Vert.x 5 pool has no statistics API,
 * only {@link Pool#size()} (connections open), from which idle = open - in use.
 *
 * <p>Thread-safe: counters are atomics; callbacks run on the Vert.x context of the caller.
 */
public final class Db implements AutoCloseable {

  static final String QUERY_METRIC = "relaymesh.control.db.query";
  private static final Duration[] BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
      Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
      Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

  /** How long a request waits for a pooled connection before it is answered 503. */
  static final Duration CONNECTION_WAIT = Duration.ofSeconds(10);
  /** How long opening a connection to PostgreSQL may take. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  /** The stable error code of requests that failed because the database is not reachable. */
  public static final String UNAVAILABLE = "database_unavailable";

  private final Pool pool;
  private final int maxSize;
  private final MeterRegistry registry;
  private final AtomicInteger inUse = new AtomicInteger();
  private final AtomicInteger waiting = new AtomicInteger();
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();

  private Db(Pool pool, int maxSize, MeterRegistry registry) {
    this.pool = pool;
    this.maxSize = maxSize;
    this.registry = registry;
  }

  /** A pool whose meters go nowhere (tests and tools). */
  public static Db create(Vertx vertx, PostgresTarget target, int maxSize) {
    return create(vertx, target, maxSize, new SimpleMeterRegistry());
  }

  /** A pool of at most {@code maxSize} connections, its meters registered in {@code registry}. */
  public static Db create(Vertx vertx, PostgresTarget target, int maxSize, MeterRegistry registry) {
    Pool pool = PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(maxSize).setName("relaymesh-control")
            .setConnectionTimeout((int) CONNECTION_WAIT.toSeconds())
            .setConnectionTimeoutUnit(TimeUnit.SECONDS))
        .with(new io.vertx.core.net.NetClientOptions()
            .setConnectTimeout((int) CONNECT_TIMEOUT.toMillis()))
        .connectingTo(target.connectOptions())
        .using(vertx)
        .build();
    Db db = new Db(pool, maxSize, registry);
    db.registerGauges();
    return db;
  }

  private void registerGauges() {
    String pc = "relaymesh.control.db.pool.connections";
    Gauge.builder(pc, this, d -> d.inUse.get()).tag("state", "in-use").strongReference(true)
        .description("database connections lent out").register(registry);
    Gauge.builder(pc, this, Db::idle).tag("state", "idle").strongReference(true)
        .description("database connections open and not lent out").register(registry);
    Gauge.builder(pc, this, d -> d.maxSize).tag("state", "max").strongReference(true)
        .description("pool size limit").register(registry);
    Gauge.builder("relaymesh.control.db.pool.waiting", this, d -> d.waiting.get())
        .strongReference(true).description("requests waiting for a pooled connection")
        .register(registry);
  }

  private double idle() {
    int open;
    try {
      open = pool.size();
    } catch (RuntimeException e) {
      return Double.NaN;
    }
    return Math.max(0, open - inUse.get());
  }

  public Pool pool() {
    return pool;
  }

  /** Connections lent out right now. */
  public int inUse() {
    return inUse.get();
  }

  /** Borrowers waiting for a connection right now. */
  public int waiting() {
    return waiting.get();
  }

  /**
   * Borrows a connection (counted); give it back with {@link #release}. Fails with a 503
   * {@value #UNAVAILABLE} when no connection can be had (PostgreSQL down or restarting, or every
   * connection busy for {@link #CONNECTION_WAIT}).
   */
  private Future<SqlConnection> acquire() {
    waiting.incrementAndGet();
    return pool.getConnection().andThen(ar -> {
      waiting.decrementAndGet();
      if (ar.succeeded()) {
        inUse.incrementAndGet();
      }
    }).recover(e -> Future.failedFuture(unavailable(e)));
  }

  /**
   * Whether {@code e} says the database connection is gone or cannot be had (PostgreSQL stopped,
   * restarting or unreachable), as opposed to a statement's own error.
   */
  static boolean connectionLost(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof PgException pg) {
        String state = pg.getSqlState();
        // 08: connection exception; 57P01..03: admin/crash shutdown, cannot connect now
        return state != null && (state.startsWith("08") || state.startsWith("57P"));
      }
      if (t instanceof io.vertx.sqlclient.ClosedConnectionException
          || t instanceof java.net.ConnectException
          || t instanceof java.nio.channels.ClosedChannelException) { // a netty connect timeout is a ConnectException
        return true;
      }
    }
    return false;
  }

  /**
   * The 503 answered for a request whose database connection failed or could not be had; the
   * cause (with the database's address) goes to the log, at most every 10 s, not to the client.
   */
  static ControlException unavailable(Throwable cause) {
    if (cause instanceof ControlException ce) {
      return ce;
    }
    long now = System.nanoTime();
    long last = lastUnavailableLog.get();
    if ((last == 0 || now - last > 10_000_000_000L)
        && lastUnavailableLog.compareAndSet(last, now)) {
      log.warn("database unavailable, answering 503 {}: {}: {}", UNAVAILABLE,
          cause.getClass().getSimpleName(), cause.getMessage());
    }
    return new ControlException(503, UNAVAILABLE,
        "the control plane's database is unavailable; try again in a few seconds");
  }

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Db.class);
  private static final java.util.concurrent.atomic.AtomicLong lastUnavailableLog =
      new java.util.concurrent.atomic.AtomicLong();

  private static <T> Future<T> mapLost(Throwable e) {
    return Future.failedFuture(connectionLost(e) ? unavailable(e) : e);
  }

  private Future<Void> release(SqlConnection c) {
    inUse.decrementAndGet();
    return c.close();
  }

  /** Runs one statement on a pooled connection, timed as {@code op}. */
  public Future<RowSet<Row>> exec(String op, String sql, Tuple args) {
    long t0 = System.nanoTime();
    return acquire()
        .compose(c -> c.preparedQuery(sql).execute(args).eventually(() -> release(c)))
        .recover(Db::mapLost)
        .andThen(ar -> record(op, t0, ar.succeeded()));
  }

  /** Runs a statement inside a transaction of {@link #tx} (not timed on its own). */
  static Future<RowSet<Row>> exec(SqlClient client, String sql, Tuple args) {
    return client.preparedQuery(sql).execute(args);
  }

  /**
   * Runs {@code fn} in a transaction on one pooled connection: committed when its future
   * succeeds, rolled back when it fails (the failure is passed on). Timed as {@code op}.
   */
  public <T> Future<T> tx(String op, Function<SqlConnection, Future<T>> fn) {
    long t0 = System.nanoTime();
    return acquire().compose(c -> c.begin().compose(tx -> {
          Future<T> body;
          try {
            body = fn.apply(c);
          } catch (RuntimeException e) {
            body = Future.failedFuture(e);
          }
          return body.compose(r -> tx.commit().map(r),
              err -> tx.rollback().transform(x -> Future.<T>failedFuture(err)));
        }).eventually(() -> release(c)))
        .recover(Db::mapLost)
        .andThen(ar -> record(op, t0, ar.succeeded()));
  }

  public <T> Future<List<T>> list(String op, String sql, Tuple args, Function<Row, T> mapper) {
    return exec(op, sql, args).map(rows -> {
      List<T> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        out.add(mapper.apply(r));
      }
      return out;
    });
  }

  /** The first row mapped, or {@code null}. */
  public <T> Future<T> one(String op, String sql, Tuple args, Function<Row, T> mapper) {
    return exec(op, sql, args).map(rows -> {
      var it = rows.iterator();
      return it.hasNext() ? mapper.apply(it.next()) : null;
    });
  }

  /** {@code SELECT 1} that fails after {@code timeout} (readiness). */
  public Future<Void> ping(Duration timeout) {
    return exec("health.ping", "SELECT 1", Tuple.tuple()).<Void>mapEmpty()
        .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void record(String op, long t0, boolean ok) {
    long nanos = System.nanoTime() - t0;
    timers.computeIfAbsent(op + (ok ? "|ok" : "|error"), k -> Timer.builder(QUERY_METRIC)
            .description("database query latency by store operation")
            .tags("query", op, "outcome", ok ? "ok" : "error")
            .serviceLevelObjectives(BUCKETS)
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Whether {@code e} is a unique-constraint violation. */
  public static boolean isUniqueViolation(Throwable e) {
    return e instanceof PgException pg && "23505".equals(pg.getSqlState());
  }

  /** Maps a unique violation to a 409 with {@code code} and {@code message}. */
  public static <T> Function<Throwable, Future<T>> conflictOnDuplicate(String code, String message) {
    return e -> Future.failedFuture(isUniqueViolation(e) ? ControlException.conflict(code, message) : e);
  }

  @Override
  public void close() {
    pool.close();
  }
}
