package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.control.store.Db;
import io.relaymesh.control.store.Migrations;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.store.SessionStore;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.Vertx;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Starting on a caller's Vert.x, stopping, configuration errors, and housekeeping. */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class ControlServerLifecycleTest {

  @Test
  void runsOnACallersVertxAndLeavesItRunningOnClose(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      ControlConfig config = Control.config(dir, SharedPostgres.url(SharedPostgres.newDatabase()))
          .withAccessUrl("https://control.example.com/");
      ControlServer server = ControlServer.await(ControlServer.start(vertx, config));
      int port = server.port();
      assertThat(server.url()).isEqualTo("https://control.example.com");
      assertThat(new Http("http://127.0.0.1:" + port).get("/healthz", null).status()).isEqualTo(200);
      ControlServer.await(server.close());
      assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
          .isInstanceOf(ConnectException.class);
      assertThat(ControlServer.await(vertx.executeBlocking(() -> "still running"))).isEqualTo("still running");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  @Test
  void invalidConfigurationNamesEveryBadKey(@TempDir Path dir) {
    ControlConfig bad = new ControlConfig("no-port", null, dir, null, true, Duration.ZERO,
        Duration.ofHours(1), Duration.ofSeconds(30), Duration.ofDays(1));
    assertThatThrownBy(() -> ControlServer.run(bad))
        .hasMessage("invalid configuration: server.listen: expected host:port, got \"no-port\"; "
            + "server.session-ttl: must be positive, got 0s; "
            + "server.ticket-ttl: must be between 10s and 10m, got 1h");
  }

  @Test
  void pruningDropsOnlyLongDeadSessions() throws Exception {
    PostgresTarget target = SharedPostgres.newDatabase();
    Migrations.migrate(target);
    Vertx vertx = Vertx.vertx();
    try (Db db = Db.create(vertx, target, 2);
         java.sql.Connection c = java.sql.DriverManager.getConnection(target.jdbcUrl(), "postgres", "")) {
      c.createStatement().execute("INSERT INTO users (username, password_hash) VALUES ('u', 'x')");
      c.createStatement().execute("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES "
          + "('\\x01', 1, now() - interval '2 days'), ('\\x02', 1, now() - interval '1 hour'), "
          + "('\\x03', 1, now() + interval '1 day')");
      c.createStatement().execute("INSERT INTO sessions (token_hash, user_id, expires_at, revoked_at) "
          + "VALUES ('\\x04', 1, now() + interval '1 day', now() - interval '3 days')");
      int pruned = ControlServer.await(new SessionStore(db).prune());
      assertThat(pruned).isEqualTo(2);
      var rs = c.createStatement().executeQuery("SELECT count(*) FROM sessions");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(2);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }
}
