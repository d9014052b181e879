package io.relaymesh.control.store;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the versioned SQL migrations in {@code classpath:db/migration} with Flyway over JDBC.
 * Blocking: run it on a worker thread.
 */
public final class Migrations {

  private static final Logger log = LoggerFactory.getLogger(Migrations.class);
  public static final String DEFAULT_LOCATION = "classpath:db/migration";

  private Migrations() {}

  /** Thrown when the schema cannot be brought up to date; startup must stop. */
  public static final class MigrationFailedException extends RuntimeException {
    public MigrationFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public static MigrateResult migrate(PostgresTarget target) {
    return migrate(target, DEFAULT_LOCATION);
  }

  public static MigrateResult migrate(PostgresTarget target, String... locations) {
    try {
      Flyway flyway = Flyway.configure()
          .dataSource(target.jdbcUrl(), target.user(), target.password())
          .locations(locations)
          .connectRetries(2)
          .load();
      MigrateResult result = flyway.migrate();
      log.info("database {} schema at version {} ({} migration(s) applied)", target.describe(),
          result.targetSchemaVersion, result.migrationsExecuted);
      return result;
    } catch (FlywayException e) {
      throw new MigrationFailedException("schema migration of database " + target.describe()
          + " failed: " + firstLine(e.getMessage()) + rootCause(e), e);
    }
  }

  /** The innermost cause's first line (e.g. the SQL error), when it adds something. */
  private static String rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    if (t == e || t.getMessage() == null) {
      return "";
    }
    return " (" + firstLine(t.getMessage()) + ")";
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl).strip();
  }
}
