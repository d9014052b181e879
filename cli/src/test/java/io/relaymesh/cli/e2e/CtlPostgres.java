package io.relaymesh.cli.e2e;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * A PostgreSQL server of its own for a control-plane fault test, outside the control plane's
 * process ({@code relaymesh server --postgres-url}), so the test can stop and start it: the same
 * data directory and port every time (a restart, as an operator's {@code systemctl restart
 * postgresql} or a failover to the same address).
 */
final class CtlPostgres implements AutoCloseable {

  static final String DATABASE = "relaymesh";
  private final Path dataDir;
  private int port;
  private EmbeddedPostgres pg;

  CtlPostgres(Path dataDir) throws IOException, SQLException {
    this.dataDir = dataDir;
    start();
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + DATABASE);
    }
  }

  /** {@code postgresql://postgres@localhost:<port>/relaymesh}. */
  String url() {
    return "postgresql://postgres@localhost:" + port + "/" + DATABASE;
  }

  /** Starts the server (on the port of its first start); blocks until it accepts connections. */
  void start() throws IOException {
    EmbeddedPostgres.Builder b = EmbeddedPostgres.builder().setDataDirectory(dataDir)
        .setCleanDataDirectory(false).setRegisterShutdownHook(false)
        .setPGStartupWait(Duration.ofSeconds(60))
        .setServerConfig("listen_addresses", "localhost");
    if (port > 0) {
      b.setPort(port);
    }
    pg = b.start();
    port = pg.getPort();
  }

  /** Stops the server ({@code pg_ctl stop -m fast}: open connections are terminated). */
  void stop() throws IOException {
    EmbeddedPostgres p = pg;
    pg = null;
    if (p != null) {
      p.close();
    }
  }

  boolean running() {
    return pg != null;
  }

  @Override
  public void close() throws IOException {
    stop();
  }
}
