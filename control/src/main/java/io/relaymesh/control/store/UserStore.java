package io.relaymesh.control.store;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.store.Model.User;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import java.util.List;

/** Users. */
public final class UserStore {

  /** Serialises first-user setup across control-plane replicas. */
  private static final long SETUP_LOCK = 0x726d5f7365747570L;

  private final Db db;

  public UserStore(Db db) {
    this.db = db;
  }

  public Future<Long> count() {
    return db.one("users.count",
            "SELECT count(*) AS n FROM users", Tuple.tuple(), r -> r.getLong("n"));
  }

  public Future<User> find(String username) {
    return db.one("users.find",
            "SELECT * FROM users WHERE username = $1", Tuple.of(username), User::of);
  }

  public Future<List<User>> list() {
    return db.list("users.list", "SELECT * FROM users ORDER BY username", Tuple.tuple(), User::of);
  }

  public Future<User> create(String username, String passwordHash, boolean admin) {
    return db.one("users.create",
            "INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, $3) "
            + "RETURNING *", Tuple.of(username, passwordHash, admin), User::of)
        .recover(Db.conflictOnDuplicate("user_exists", "user '" + username + "' already exists"));
  }

  /** Creates the first user as admin, failing with 409 when any user exists already. */
  public Future<User> createFirstAdmin(String username, String passwordHash) {
    return db.tx("users.create-first-admin", c ->
        Db.exec(c, "SELECT pg_advisory_xact_lock($1)", Tuple.of(SETUP_LOCK))
            .compose(x -> Db.exec(c, "SELECT count(*) AS n FROM users", Tuple.tuple()))
            .compose(rows -> {
              if (rows.iterator().next().getLong("n") > 0) {
                return Future.failedFuture(ControlException.conflict("setup_done",
                    "setup is only possible while no user exists; log in as an admin instead"));
              }
              return Db.exec(c, "INSERT INTO users (username, password_hash, is_admin) "
                  + "VALUES ($1, $2, TRUE) RETURNING *", Tuple.of(username, passwordHash));
            })
            .map(rows -> User.of(rows.iterator().next())));
  }

  public Future<Boolean> delete(String username) {
    return db.exec("users.delete", "DELETE FROM users WHERE username = $1", Tuple.of(username))
        .map(r -> r.rowCount() > 0);
  }
}
