package io.relaymesh.control.store;

import io.relaymesh.control.auth.Principal;
import io.vertx.core.Future;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;

/** Login sessions (stored by token digest) and the failed-login record used for rate limits. */
public final class SessionStore {

  private final Db db;

  public SessionStore(Db db) {
    this.db = db;
  }

  /** Creates a session valid for {@code ttlSeconds}; returns its expiry. */
  public Future<Instant> create(long userId, byte[] tokenHash, long ttlSeconds, String address) {
    return db.one("sessions.create",
            "INSERT INTO sessions (token_hash, user_id, expires_at, created_from) "
            + "VALUES ($1, $2, now() + $3::bigint * interval '1 second', $4) RETURNING expires_at",
        Tuple.of(io.vertx.core.buffer.Buffer.buffer(tokenHash), userId, ttlSeconds, address),
        r -> Model.instant(r, "expires_at"));
  }

  /** The user of an active (unexpired, unrevoked) session, or {@code null}. */
  public Future<Principal.User> authenticate(byte[] tokenHash) {
    return db.one("sessions.authenticate",
            "SELECT s.id AS sid, s.token_hash, u.id AS uid, u.username, u.is_admin "
            + "FROM sessions s JOIN users u ON u.id = s.user_id "
            + "WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
        Tuple.of(io.vertx.core.buffer.Buffer.buffer(tokenHash)),
        r -> io.relaymesh.control.auth.Tokens.sameHash(tokenHash, r.getBuffer("token_hash").getBytes())
            ? new Principal.User(r.getLong("uid"), r.getString("username"),
                r.getBoolean("is_admin"), r.getLong("sid"))
            : null);
  }

  public Future<Void> revoke(long sessionId) {
    return db.exec("sessions.revoke",
            "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        Tuple.of(sessionId)).mapEmpty();
  }

  /** Deletes sessions that expired or were revoked more than a day ago; returns how many. */
  public Future<Integer> prune() {
    return db.exec("sessions.prune",
            "DELETE FROM sessions WHERE expires_at < now() - interval '1 day' "
        + "OR revoked_at < now() - interval '1 day'", io.vertx.sqlclient.Tuple.tuple())
        .compose(r -> db.exec("sessions.prune-failures",
                "DELETE FROM login_failures WHERE failed_at < now() - interval '1 day'",
            io.vertx.sqlclient.Tuple.tuple()).map(x -> r.rowCount()));
  }

  /** Failed logins within the window: {@code [forUser, fromAddress]}. */
  public Future<long[]> recentFailures(String username, String address, long windowSeconds) {
    return db.one("sessions.recent-failures", "SELECT "
            + "(SELECT count(*) FROM login_failures WHERE username = $1 "
            + "   AND failed_at > now() - $3::bigint * interval '1 second') AS by_user, "
            + "(SELECT count(*) FROM login_failures WHERE address = $2 "
            + "   AND failed_at > now() - $3::bigint * interval '1 second') AS by_address",
        Tuple.of(username, address, windowSeconds),
        r -> new long[] {r.getLong("by_user"), r.getLong("by_address")});
  }

  public Future<Void> recordFailure(String username, String address) {
    return db.exec("sessions.record-failure",
            "INSERT INTO login_failures (username, address) VALUES ($1, $2)",
        Tuple.of(username, address)).mapEmpty();
  }

  /** Forgets a user's failures after a successful login, and prunes old rows. */
  public Future<Void> clearFailures(String username, long windowSeconds) {
    return db.exec("sessions.clear-failures", "DELETE FROM login_failures WHERE username = $1 "
            + "OR failed_at < now() - $2::bigint * interval '1 second'",
        Tuple.of(username, windowSeconds)).mapEmpty();
  }
}
