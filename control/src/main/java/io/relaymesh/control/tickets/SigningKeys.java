package io.relaymesh.control.tickets;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import io.relaymesh.control.store.Db;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Ticket signing keys (ES256, P-256), stored in PostgreSQL and shared by all control-plane
 * replicas.
 *
 * <p>Life of a key: it is published (in {@code /api/v1/keys}) from its creation, starts signing
 * at {@code signs_from} ({@link #PREPUBLISH} after creation for scheduled rotations, so relays
 * that refreshed their key set shortly before know it before the first ticket arrives), stops
 * signing at {@code retired_at} (when its successor starts), and stays published until
 * {@code publish_until = retired_at + ticketTtl + 1 min}, i.e. until every ticket it signed has
 * expired. Rotation is serialised across replicas by an advisory lock. Each replica caches the
 * signing key for at most {@code cacheTtl} and never past the start of its successor.
 *
 * <p>ES256 rather than EdDSA: nimbus' Ed25519 support needs Google Tink, ES256 works with the
 * JDK's own EC implementation, and every JOSE library verifies it.
 */
public final class SigningKeys {

  public static final Duration DEFAULT_CACHE_TTL = Duration.ofSeconds(10);
  /** Longer than a verifier's minimum refresh interval plus the signing-key cache. */
  public static final Duration PREPUBLISH = Duration.ofSeconds(30);
  public static final Duration PUBLISH_MARGIN = Duration.ofMinutes(1);
  private static final long ROTATION_LOCK = 0x726d5f6b65797321L;

  private static final String SIGNING = "SELECT private_jwk, "
      + "(SELECT max(created_at) FROM signing_keys) < now() - $1::bigint * interval '1 second' AS stale, "
      + "(SELECT extract(epoch FROM min(signs_from) - now()) FROM signing_keys "
      + "   WHERE signs_from > now()) AS next_in "
      + "FROM signing_keys WHERE signs_from <= now() AND (retired_at IS NULL OR retired_at > now()) "
      + "ORDER BY signs_from DESC, created_at DESC LIMIT 1";

  private final Db db;
  private final Duration rotation;
  private final Duration ticketTtl;
  private final Duration cacheTtl;
  private volatile ECKey cached;
  private volatile Instant cachedUntil = Instant.EPOCH;

  public SigningKeys(Db db, Duration rotation, Duration ticketTtl) {
    this(db, rotation, ticketTtl, DEFAULT_CACHE_TTL);
  }

  public SigningKeys(Db db, Duration rotation, Duration ticketTtl, Duration cacheTtl) {
    this.db = db;
    this.rotation = rotation;
    this.ticketTtl = ticketTtl;
    this.cacheTtl = cacheTtl;
  }

  /**
   * The key to sign with now. Creates the first key when there is none; when the newest key is
   * older than the rotation period, schedules its successor (published now, signing after
   * {@link #PREPUBLISH}) and keeps signing with the current one meanwhile.
   */
  public Future<ECKey> current() {
    ECKey k = cached;
    if (k != null && Instant.now().isBefore(cachedUntil)) {
      return Future.succeededFuture(k);
    }
    return db.one("signing-keys.current",
            SIGNING, Tuple.of(rotation.toSeconds()), r -> r).compose(r -> {
      if (r == null) {
        return rotate(Duration.ZERO, false).compose(x -> current());
      }
      Future<?> scheduled = r.getBoolean("stale") && r.getValue("next_in") == null
          ? rotate(PREPUBLISH, false) : Future.succeededFuture();
      ECKey key = parse(r);
      return scheduled.map(x -> {
        Instant until = Instant.now().plus(cacheTtl);
        Object nextIn = r.getValue("next_in");
        if (nextIn instanceof Number n) {
          Instant next = Instant.now().plusMillis((long) (n.doubleValue() * 1000));
          until = next.isBefore(until) ? next : until;
        }
        cached = key;
        cachedUntil = until;
        return key;
      });
    });
  }

  /**
   * Creates a new key that starts signing after {@code prepublish} (zero: at once, e.g. after a
   * suspected key compromise) and retires the current one at that moment. Unless {@code force},
   * does nothing when the newest key is younger than the rotation period (another replica has
   * just rotated). Returns the newest key.
   */
  public Future<ECKey> rotate(Duration prepublish, boolean force) {
    ECKey fresh;
    try {
      fresh = new ECKeyGenerator(Curve.P_256)
          .keyID(UUID.randomUUID().toString())
          .keyUse(KeyUse.SIGNATURE)
          .algorithm(JWSAlgorithm.ES256)
          .generate();
    } catch (JOSEException e) {
      return Future.failedFuture(e);
    }
    long pre = prepublish.toSeconds();
    long publish = prepublish.plus(ticketTtl).plus(PUBLISH_MARGIN).toSeconds();
    return db.tx("signing-keys.rotate", c ->
        c.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(ROTATION_LOCK))
            .compose(x -> c.preparedQuery("SELECT private_jwk, "
                    + "(created_at < now() - $1::bigint * interval '1 second') AS stale "
                    + "FROM signing_keys ORDER BY created_at DESC LIMIT 1")
                .execute(Tuple.of(rotation.toSeconds())))
            .compose(rows -> {
              var it = rows.iterator();
              if (!force && it.hasNext()) {
                Row r = it.next();
                if (!r.getBoolean("stale")) {
                  return Future.succeededFuture(parse(r));
                }
              }
              return c.preparedQuery("UPDATE signing_keys SET "
                      + "retired_at = now() + $1::bigint * interval '1 second', "
                      + "publish_until = now() + $2::bigint * interval '1 second' "
                      + "WHERE retired_at IS NULL").execute(Tuple.of(pre, publish))
                  .compose(x -> c.preparedQuery("DELETE FROM signing_keys "
                      + "WHERE publish_until < now() - interval '1 day'").execute())
                  .compose(x -> c.preparedQuery("INSERT INTO signing_keys (kid, algorithm, "
                      + "private_jwk, public_jwk, signs_from) VALUES ($1, $2, $3, $4, "
                      + "now() + $5::bigint * interval '1 second')")
                      .execute(Tuple.of(fresh.getKeyID(), "ES256", fresh.toJSONString(),
                          fresh.toPublicJWK().toJSONString(), pre)))
                  .map(x -> fresh);
            }))
        .onSuccess(key -> cached = null);
  }

  /** Public keys that may sign soon or may have signed an unexpired ticket, newest first. */
  public Future<JWKSet> published() {
    return db.list("signing-keys.published", "SELECT public_jwk FROM signing_keys "
            + "WHERE publish_until IS NULL OR publish_until > now() "
            + "ORDER BY created_at DESC",
        Tuple.tuple(), r -> r.getString("public_jwk"))
        .map(list -> {
          List<JWK> keys = new ArrayList<>();
          for (String s : list) {
            try {
              keys.add(JWK.parse(s));
            } catch (ParseException e) {
              throw new IllegalStateException("stored public key is not a JWK", e);
            }
          }
          return new JWKSet(keys);
        });
  }

  private static ECKey parse(Row r) {
    try {
      return ECKey.parse(r.getString("private_jwk"));
    } catch (ParseException e) {
      throw new IllegalStateException("stored signing key is not an EC JWK", e);
    }
  }
}
