package io.relaymesh.control.tickets;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import io.relaymesh.control.ControlServer;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.Migrations;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.Vertx;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Scheduled key rotation: pre-publication, hand-over, and replicas rotating concurrently. */
@ExtendWith(SharedPostgres.class)
@Timeout(60)
class SigningKeysTest {

  static final Duration ROTATION = Duration.ofDays(1);
  static final Duration TTL = Duration.ofMinutes(2);

  Vertx vertx;
  Db db;
  PostgresTarget target;

  @BeforeEach
  void setUp() {
    target = SharedPostgres.newDatabase();
    Migrations.migrate(target);
    vertx = Vertx.vertx();
    db = Db.create(vertx, target, 4);
  }

  @AfterEach
  void tearDown() throws Exception {
    db.close();
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  void sql(String s) throws Exception {
    try (Connection c = DriverManager.getConnection(target.jdbcUrl(), "postgres", "")) {
      c.createStatement().execute(s);
    }
  }

  static List<String> kids(SigningKeys keys) {
    return ControlServer.await(keys.published()).getKeys().stream().map(JWK::getKeyID).toList();
  }

  @Test
  void aStaleKeyGetsAPrePublishedSuccessorThatSignsOnlyLater() throws Exception {
    SigningKeys keys = new SigningKeys(db, ROTATION, TTL, Duration.ZERO);
    ECKey first = ControlServer.await(keys.current());
    assertThat(ControlServer.await(keys.current()).getKeyID()).isEqualTo(first.getKeyID());
    assertThat(kids(keys)).containsExactly(first.getKeyID());

    sql("UPDATE signing_keys SET created_at = now() - interval '2 days'");
    // still signs with the current key; the successor is published already
    assertThat(ControlServer.await(keys.current()).getKeyID()).isEqualTo(first.getKeyID());
    List<String> published = kids(keys);
    assertThat(published).hasSize(2).endsWith(first.getKeyID());
    String next = published.get(0);
    // asking again does not schedule a third key
    ControlServer.await(keys.current());
    assertThat(kids(keys)).containsExactly(next, first.getKeyID());

    // the hand-over time arrives (simulated by moving it into the past)
    sql("UPDATE signing_keys SET signs_from = now() - interval '1 second' WHERE kid = '" + next + "'");
    sql("UPDATE signing_keys SET retired_at = now() - interval '1 second' WHERE kid = '"
        + first.getKeyID() + "'");
    assertThat(ControlServer.await(keys.current()).getKeyID()).isEqualTo(next);
    assertThat(kids(keys)).containsExactly(next, first.getKeyID());
  }

  @Test
  void twoReplicasRotatingAtOnceCreateOneKey() throws Exception {
    SigningKeys a = new SigningKeys(db, ROTATION, TTL, Duration.ZERO);
    SigningKeys b = new SigningKeys(db, ROTATION, TTL, Duration.ZERO);
    var fa = a.current();
    var fb = b.current();
    assertThat(ControlServer.await(fa).getKeyID()).isEqualTo(ControlServer.await(fb).getKeyID());
    sql("UPDATE signing_keys SET created_at = now() - interval '2 days'");
    ControlServer.await(io.vertx.core.Future.all(a.current(), b.current()));
    assertThat(kids(a)).hasSize(2);
  }
}
