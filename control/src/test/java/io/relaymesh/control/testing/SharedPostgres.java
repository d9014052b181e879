package io.relaymesh.control.testing;

import io.relaymesh.control.store.EmbeddedPostgresServer;
import io.relaymesh.control.store.PostgresTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * One PostgreSQL server per test JVM, started on first use and stopped when the JUnit run ends
 * (root-store closeable); each test class asks for its own fresh database.
 *
 * <p>The server is the embedded PostgreSQL by default. With the system property
 * {@code relaymesh.test.postgres=testcontainers} (the control module's second surefire
 * execution) it is a Testcontainers PostgreSQL instead, and every test class using this
 * extension is skipped, visibly, when no Docker engine is available.
 */
public final class SharedPostgres implements BeforeAllCallback, ExecutionCondition {

  public static final String BACKEND_PROPERTY = "relaymesh.test.postgres";
  public static final String TESTCONTAINERS = "testcontainers";
  public static final String IMAGE = "postgres:16-alpine";

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static volatile Backend backend;

  /** A PostgreSQL server that hands out fresh databases. */
  private interface Backend extends ExtensionContext.Store.CloseableResource, AutoCloseable {
    PostgresTarget create(String name) throws Exception;

    @Override
    void close() throws IOException;
  }

  private static final class Embedded implements Backend {
    final Path dir;
    final EmbeddedPostgresServer pg;

    Embedded(Path dir) throws IOException {
      this.dir = dir;
      this.pg = EmbeddedPostgresServer.start(dir);
    }

    @Override
    public PostgresTarget create(String name) throws Exception {
      pg.createDatabase(name);
      return pg.target(name);
    }

    @Override
    public void close() throws IOException {
      pg.close();
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static final class Container implements Backend {
    final PostgreSQLContainer<?> pg;

    @SuppressWarnings("resource")
    Container() {
      pg = new PostgreSQLContainer<>(IMAGE);
      pg.start();
    }

    @Override
    public PostgresTarget create(String name) throws Exception {
      try (Connection c = DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
           Statement st = c.createStatement()) {
        st.execute("CREATE DATABASE " + name);
      }
      return new PostgresTarget(pg.getHost(), pg.getMappedPort(5432), name, pg.getUsername(),
          pg.getPassword());
    }

    @Override
    public void close() {
      pg.stop();
    }
  }

  /** Stops the backend when the JUnit run ends. */
  private record Stopper(Backend b) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    @Override
    public void close() throws IOException {
      b.close();
      backend = null;
    }
  }

  public static boolean testcontainers() {
    return TESTCONTAINERS.equals(System.getProperty(BACKEND_PROPERTY));
  }

  private static volatile Boolean docker;

  private static boolean dockerAvailable() {
    if (docker == null) {
      try {
        docker = DockerClientFactory.instance().isDockerAvailable();
      } catch (RuntimeException e) {
        docker = false;
      }
    }
    return docker;
  }

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    if (testcontainers() && !dockerAvailable()) {
      return ConditionEvaluationResult.disabled(
          "no Docker engine available: Testcontainers PostgreSQL run skipped");
    }
    return ConditionEvaluationResult.enabled("PostgreSQL available");
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    ensureStarted(context);
  }

  private static synchronized void ensureStarted(ExtensionContext context) throws IOException {
    if (backend == null) {
      Backend b = testcontainers() ? new Container()
          : new Embedded(Files.createTempDirectory("relaymesh-test-pg"));
      context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
          .put(SharedPostgres.class.getName(), new Stopper(b));
      backend = b;
    }
  }

  /** A new, empty database in the shared server. */
  public static PostgresTarget newDatabase() {
    Backend b = backend;
    if (b == null) {
      throw new IllegalStateException("annotate the test class with @ExtendWith(SharedPostgres.class)");
    }
    String name = "t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    try {
      return b.create(name);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create test database " + name, e);
    }
  }

  /** The libpq URL of a target. */
  public static String url(PostgresTarget t) {
    return "postgresql://" + t.user() + (t.password() == null ? "" : ":" + t.password()) + "@"
        + t.host() + ":" + t.port() + "/" + t.database();
  }
}
