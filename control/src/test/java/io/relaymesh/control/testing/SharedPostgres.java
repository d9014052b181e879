package io.relaymesh.control.testing;

import io.relaymesh.control.store.EmbeddedPostgresServer;
import io.relaymesh.control.store.PostgresTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One embedded PostgreSQL per test JVM, started on first use and stopped when the JUnit run
 * ends (root-store closeable); each test class asks for its own fresh database.
 */
public final class SharedPostgres implements BeforeAllCallback {

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static volatile Server server;

  private static final class Server
      implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    final Path dir;
    final EmbeddedPostgresServer pg;

    Server(Path dir, EmbeddedPostgresServer pg) {
      this.dir = dir;
      this.pg = pg;
    }

    @Override
    public void close() throws IOException {
      pg.close();
      server = null;
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    ensureStarted(context);
  }

  private static synchronized void ensureStarted(ExtensionContext context) throws IOException {
    if (server == null) {
      Path dir = Files.createTempDirectory("relaymesh-test-pg");
      Server s = new Server(dir, EmbeddedPostgresServer.start(dir));
      context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
          .put(SharedPostgres.class.getName(), s);
      server = s;
    }
  }

  /** A new, empty database in the shared server. */
  public static PostgresTarget newDatabase() {
    Server s = server;
    if (s == null) {
      throw new IllegalStateException("annotate the test class with @ExtendWith(SharedPostgres.class)");
    }
    String name = "t" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    try {
      s.pg.createDatabase(name);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create test database " + name, e);
    }
    return s.pg.target(name);
  }

  /** The libpq URL of a target (no password: the embedded server trusts local connections). */
  public static String url(PostgresTarget t) {
    return "postgresql://" + t.user() + "@" + t.host() + ":" + t.port() + "/" + t.database();
  }
}
