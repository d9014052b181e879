package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.control.store.Migrations;
import io.relaymesh.control.store.Migrations.MigrationFailedException;
import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.SharedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Flyway migrations from an empty database, idempotence, and failure reporting. */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class MigrationsTest {

  @Test
  void migratesAnEmptyDatabaseAndIsIdempotent() throws Exception {
    PostgresTarget db = SharedPostgres.newDatabase();
    assertThat(tables(db)).isEmpty();
    var first = Migrations.migrate(db);
    assertThat(first.migrationsExecuted).isEqualTo(7);
    assertThat(first.targetSchemaVersion).isEqualTo("7");
    assertThat(tables(db)).contains("users", "sessions", "login_failures", "workspaces", "agents",
        "agent_tokens", "regions", "relay_tokens", "relay_replicas", "agent_presence",
        "signing_keys", "connections", "port_shares", "app_handoffs", "settings",
        "flyway_schema_history");
    assertThat(Migrations.migrate(db).migrationsExecuted).isZero();
  }

  @Test
  void aFailingMigrationStopsWithAClearError() throws Exception {
    PostgresTarget db = SharedPostgres.newDatabase();
    assertThatThrownBy(() -> Migrations.migrate(db, Migrations.DEFAULT_LOCATION, "classpath:db/broken"))
        .isInstanceOf(MigrationFailedException.class)
        .hasMessageContaining("schema migration of database " + db.describe() + " failed")
        .hasMessageContaining("no_such_table");
  }

  @Test
  void parsesPostgresUrlsWithoutLeakingPasswords() {
    PostgresTarget t = PostgresTarget.parse("postgresql://rm:pw-123@db.example.com:6543/relaymesh");
    assertThat(t.host()).isEqualTo("db.example.com");
    assertThat(t.port()).isEqualTo(6543);
    assertThat(t.database()).isEqualTo("relaymesh");
    assertThat(t.user()).isEqualTo("rm");
    assertThat(t.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:6543/relaymesh");
    assertThat(t.toString()).doesNotContain("pw-123");
    PostgresTarget j = PostgresTarget.parse("jdbc:postgresql://h:5432/d?user=u&password=p");
    assertThat(j.user()).isEqualTo("u");
    assertThat(j.password()).isEqualTo("p");
    assertThatThrownBy(() -> PostgresTarget.parse("mysql://x"))
        .hasMessageContaining("must start with postgresql://");
  }

  private static List<String> tables(PostgresTarget db) throws Exception {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
         ResultSet rs = c.createStatement().executeQuery(
             "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
      List<String> l = new ArrayList<>();
      while (rs.next()) {
        l.add(rs.getString(1));
      }
      return l;
    }
  }
}
