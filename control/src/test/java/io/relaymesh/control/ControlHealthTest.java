package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.store.PostgresTarget;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /healthz} (the process answers, whatever the database does) and {@code /readyz} (the
 * database answers and its schema is current), as the Helm chart's probes use them.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class ControlHealthTest {

  @Test
  void readyzFollowsTheDatabaseAndTheSchemaWhileHealthzStaysUp(@TempDir Path dir)
      throws Exception {
    try (Control c = Control.startOnNewDatabase(dir)) {
      Resp live = c.http.get("/healthz", null);
      assertThat(live.status()).isEqualTo(200);
      assertThat(live.json().getString("status")).isEqualTo("ok");
      Resp ready = c.http.get("/readyz", null);
      assertThat(ready.status()).as(ready.toString()).isEqualTo(200);
      assertThat(ready.json().getString("status")).isEqualTo("ready");
      assertThat(ready.json().getString("schemaVersion")).isEqualTo("7");

      // a failed migration in the history: not ready
      c.sql("UPDATE flyway_schema_history SET success = false WHERE version = '7'");
      Resp failed = c.http.get("/readyz", null);
      assertThat(failed.status()).isEqualTo(503);
      assertThat(failed.code()).isEqualTo("schema_not_current");
      assertThat(failed.json().getString("message")).contains("migration 7 failed");
      // a schema behind this build (e.g. a restored old backup): not ready
      c.sql("DELETE FROM flyway_schema_history WHERE version = '7'");
      Resp behind = c.http.get("/readyz", null);
      assertThat(behind.status()).isEqualTo(503);
      assertThat(behind.json().getString("message"))
          .isEqualTo("database schema is at version 6, this control plane needs 7");
      c.sql("INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
          + "script, checksum, installed_by, execution_time, success) VALUES (100, '7', 'x', "
          + "'SQL', 'V7__x.sql', 0, 'test', 0, true)");
      assertThat(c.http.get("/readyz", null).status()).isEqualTo(200);

      // the database refuses connections: not ready, still alive
      String database = c.db.database();
      try (Connection admin = adminConnection(c.db); Statement st = admin.createStatement()) {
        st.execute("ALTER DATABASE " + database + " ALLOW_CONNECTIONS false");
        st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"
            + database + "' AND pid <> pg_backend_pid()");
        try {
          Resp down = c.http.get("/readyz", null);
          assertThat(down.status()).isEqualTo(503);
          assertThat(down.code()).isEqualTo("database_unavailable");
          assertThat(down.json().getString("message")).startsWith("the database is not reachable");
          assertThat(down.text()).doesNotContain(c.db.password() == null ? "\u0000"
              : c.db.password());
          assertThat(c.http.get("/healthz", null).status()).isEqualTo(200);
          // metrics are served with the last known relay counts
          assertThat(c.http.get("/metrics", null).status()).isEqualTo(200);
        } finally {
          st.execute("ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
        }
      }
      assertThat(c.http.get("/readyz", null).status()).isEqualTo(200);
    }
  }

  private static Connection adminConnection(PostgresTarget t) throws Exception {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", t.user());
    if (t.password() != null) {
      p.setProperty("password", t.password());
    }
    return DriverManager.getConnection(new PostgresTarget(t.host(), t.port(), "postgres",
        t.user(), t.password()).jdbcUrl(), p);
  }
}
