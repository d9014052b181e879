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
 * replicas. The newest unretired key signs; rotation retires it and keeps its public half
 * published until {@code retired_at + ticketTtl + skew}, i.e. until every ticket it signed has
 * expired. The current key is cached in-process for {@link #CACHE_TTL} only.
 *
 * <p>ES256 rather than EdDSA: nimbus' Ed25519 support needs Google Tink, ES256 works with the
 * JDK's own EC implementation, and every JOSE library verifies it.
 */
public final class SigningKeys {

  public static final Duration CACHE_TTL = Duration.ofSeconds(10);
  public static final Duration PUBLISH_MARGIN = Duration.ofMinutes(1);
  private static final long ROTATION_LOCK = 0x726d5f6b65797321L;

  private final Db db;
  private final Duration rotation;
  private final Duration ticketTtl;
  private volatile ECKey cached;
  private volatile Instant cachedAt = Instant.EPOCH;

  public SigningKeys(Db db, Duration rotation, Duration ticketTtl) {
    this.db = db;
    this.rotation = rotation;
    this.ticketTtl = ticketTtl;
  }

  /** The key to sign with now, rotating first when there is none or it is too old. */
  public Future<ECKey> current() {
    ECKey k = cached;
    if (k != null && Instant.now().isBefore(cachedAt.plus(CACHE_TTL))) {
      return Future.succeededFuture(k);
    }
    return db.one("SELECT private_jwk, (created_at < now() - $1::bigint * interval '1 second') AS stale "
            + "FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
        Tuple.of(rotation.toSeconds()), r -> r)
        .compose(r -> {
          if (r == null || r.getBoolean("stale")) {
            return rotate(false);
          }
          return Future.succeededFuture(parse(r));
        })
        .onSuccess(key -> {
          cached = key;
          cachedAt = Instant.now();
        });
  }

  /**
   * Generates a new signing key and retires the current one. Unless {@code force}, does nothing
   * when another replica has just rotated (the current key is younger than the rotation period).
   */
  public Future<ECKey> rotate(boolean force) {
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
    long publishSeconds = ticketTtl.plus(PUBLISH_MARGIN).toSeconds();
    return db.pool().withTransaction(c ->
        c.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(ROTATION_LOCK))
            .compose(x -> c.preparedQuery("SELECT private_jwk, "
                    + "(created_at < now() - $1::bigint * interval '1 second') AS stale "
                    + "FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1")
                .execute(Tuple.of(rotation.toSeconds())))
            .compose(rows -> {
              var it = rows.iterator();
              if (!force && it.hasNext()) {
                Row r = it.next();
                if (!r.getBoolean("stale")) {
                  return Future.succeededFuture(parse(r));
                }
              }
              return c.preparedQuery("UPDATE signing_keys SET retired_at = now(), "
                      + "publish_until = now() + $1::bigint * interval '1 second' "
                      + "WHERE retired_at IS NULL").execute(Tuple.of(publishSeconds))
                  .compose(x -> c.preparedQuery("DELETE FROM signing_keys "
                      + "WHERE publish_until < now() - interval '1 day'").execute())
                  .compose(x -> c.preparedQuery("INSERT INTO signing_keys (kid, algorithm, "
                      + "private_jwk, public_jwk) VALUES ($1, $2, $3, $4)")
                      .execute(Tuple.of(fresh.getKeyID(), "ES256", fresh.toJSONString(),
                          fresh.toPublicJWK().toJSONString())))
                  .map(x -> fresh);
            }))
        .onSuccess(key -> {
          cached = key;
          cachedAt = Instant.now();
        });
  }

  /** Public keys that may have signed an unexpired ticket, newest first. */
  public Future<JWKSet> published() {
    return db.list("SELECT public_jwk FROM signing_keys "
            + "WHERE retired_at IS NULL OR publish_until > now() ORDER BY created_at DESC",
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
