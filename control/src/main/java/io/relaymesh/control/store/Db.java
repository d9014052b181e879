package io.relaymesh.control.store;

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
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** The reactive connection pool plus small query helpers shared by the stores. */
public final class Db implements AutoCloseable {

  private final Pool pool;

  private Db(Pool pool) {
    this.pool = pool;
  }

  public static Db create(Vertx vertx, PostgresTarget target, int maxSize) {
    Pool pool = PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(maxSize).setName("relaymesh-control"))
        .connectingTo(target.connectOptions())
        .using(vertx)
        .build();
    return new Db(pool);
  }

  public Pool pool() {
    return pool;
  }

  public Future<RowSet<Row>> exec(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args);
  }

  static Future<RowSet<Row>> exec(SqlClient client, String sql, Tuple args) {
    return client.preparedQuery(sql).execute(args);
  }

  public <T> Future<List<T>> list(String sql, Tuple args, Function<Row, T> mapper) {
    return exec(sql, args).map(rows -> {
      List<T> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        out.add(mapper.apply(r));
      }
      return out;
    });
  }

  /** The first row mapped, or {@code null}. */
  public <T> Future<T> one(String sql, Tuple args, Function<Row, T> mapper) {
    return exec(sql, args).map(rows -> {
      var it = rows.iterator();
      return it.hasNext() ? mapper.apply(it.next()) : null;
    });
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
