package io.relaymesh.control.store;

import io.relaymesh.control.auth.Tokens;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Tuple;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

/**
 * One-time handoff codes of the browser app flow (docs/apps.md): 32 random bytes (base64url),
 * stored as SHA-256 digests, valid {@link #TTL}, single use, bound to one app label and one
 * session. Also the app flow's view of login sessions ({@link #session}): the relay API needs
 * a session's expiry (the app cookie's refresh limit) and re-checks it by id on refresh.
 */
public final class HandoffStore {

  /** How long a handoff code is valid. */
  public static final Duration TTL = Duration.ofSeconds(60);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A consumed code: whose session it carried. */
  public record Handoff(long sessionId, long userId, String app) {}

  /** An active (unexpired, unrevoked) login session. */
  public record ActiveSession(long sessionId, long userId, String username, boolean admin,
      Instant expiresAt) {}

  private final Db db;

  public HandoffStore(Db db) {
    this.db = db;
  }

  /**
   * Creates a code for {@code app} (the app label, {@code AppHost.label()}) on behalf of session
   * {@code sessionId} of user {@code userId}; returns the code (never log it).
   */
  public Future<String> create(long sessionId, long userId, String app) {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    String code = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    return db.exec("handoffs.create",
            "INSERT INTO app_handoffs (code_hash, session_id, user_id, app, expires_at) "
            + "VALUES ($1, $2, $3, $4, now() + $5::bigint * interval '1 second')",
            Tuple.of(Buffer.buffer(Tokens.hash(code)), sessionId, userId, app, TTL.toSeconds()))
        .map(x -> code);
  }

  /**
   * Consumes {@code code} for {@code app}: the handoff, or {@code null} when the code is
   * unknown, used, expired or for another app (it is then used up as well).
   */
  public Future<Handoff> consume(String code, String app) {
    if (code == null || code.isEmpty() || code.length() > 128) {
      return Future.succeededFuture(null);
    }
    return db.one("handoffs.consume",
            "UPDATE app_handoffs SET used_at = now() WHERE code_hash = $1 "
            + "AND used_at IS NULL AND expires_at > now() RETURNING session_id, user_id, app",
        Tuple.of(Buffer.buffer(Tokens.hash(code))),
        r -> new Handoff(r.getLong("session_id"), r.getLong("user_id"), r.getString("app")))
        .map(h -> h != null && h.app().equals(app) ? h : null);
  }

  /** Deletes codes that expired more than an hour ago; returns how many. */
  public Future<Integer> prune() {
    return db.exec("handoffs.prune",
            "DELETE FROM app_handoffs WHERE expires_at < now() - interval '1 hour'",
        Tuple.tuple()).map(r -> r.rowCount());
  }

  /** The active session with this id, or {@code null} (expired, revoked or deleted). */
  public Future<ActiveSession> session(long sessionId) {
    return db.one("handoffs.session-by-id",
            "SELECT s.id AS sid, s.expires_at, u.id AS uid, u.username, u.is_admin "
            + "FROM sessions s JOIN users u ON u.id = s.user_id "
            + "WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
        Tuple.of(sessionId), HandoffStore::activeSession);
  }

  /** The active session of a session token digest, or {@code null}. */
  public Future<ActiveSession> session(byte[] tokenHash) {
    return db.one("handoffs.session-by-token",
            "SELECT s.id AS sid, s.token_hash, s.expires_at, u.id AS uid, u.username, "
            + "u.is_admin FROM sessions s JOIN users u ON u.id = s.user_id "
            + "WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
        Tuple.of(Buffer.buffer(tokenHash)),
        r -> Tokens.sameHash(tokenHash, r.getBuffer("token_hash").getBytes())
            ? activeSession(r) : null);
  }

  private static ActiveSession activeSession(io.vertx.sqlclient.Row r) {
    return new ActiveSession(r.getLong("sid"), r.getLong("uid"), r.getString("username"),
        r.getBoolean("is_admin"), Model.instant(r, "expires_at"));
  }
}
