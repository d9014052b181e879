package io.relaymesh.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.e2e.Children.Child;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One {@code relaymesh dev} child from a fresh data dir in a fresh temp dir (control plane with
 * embedded PostgreSQL, relay, workspace {@code dev} with its agent), the {@link Children} that
 * run the CLI against it, and the {@code dev.json} it wrote. {@link #stop} ends it like Ctrl-C
 * and checks that nothing it started is left.
 */
final class DevProcess {

  final Path tmp;
  final Path data;
  final Children cli;
  final Child dev;
  final JsonObject devJson;

  private DevProcess(Path tmp, Children cli, Child dev) throws Exception {
    this.tmp = tmp;
    this.data = tmp.resolve("data");
    this.cli = cli;
    this.dev = dev;
    Children.await(Duration.ofSeconds(100), () -> "'relaymesh dev is running' from\n" + dev,
        () -> dev.stdout().contains("relaymesh dev is running") || !dev.process().isAlive());
    assertThat(dev.process().isAlive()).as("relaymesh dev exited early:\n%s", dev).isTrue();
    this.devJson = new JsonObject(Files.readString(data.resolve("dev.json")));
  }

  /** Starts {@code relaymesh dev --port 0 --relay-port 0} in a new temp dir named {@code prefix...}. */
  static DevProcess start(String prefix) throws Exception {
    Path tmp = Files.createTempDirectory(prefix);
    Children cli = new Children(tmp, tmp.resolve("config"));
    // the long-running process gets the JIT: it carries every byte of the tests
    Child dev = cli.start(List.of(Children.javaBin(), "-Xmx512m", "-cp", Children.CP,
        "io.relaymesh.cli.Main", "dev", "--data-dir", tmp.resolve("data").toString(), "--port",
        "0", "--relay-port", "0"), null);
    try {
      return new DevProcess(tmp, cli, dev);
    } catch (Exception | AssertionError e) {
      cli.close();
      throw e;
    }
  }

  /**
   * SIGTERM (like Ctrl-C), then everything else the CLI children started (SIGKILL after 30 s);
   * waits until no process uses the data dir (the embedded PostgreSQL runs as its own process
   * with {@code -D <data>/control/postgres}) and deletes the temp dir unless
   * {@code -Drelaymesh.e2e.keep=true}. Returns whether dev exited within 30 s of SIGTERM.
   */
  boolean stop() throws Exception {
    dev.process().destroy();
    boolean exited = dev.process().waitFor(30, TimeUnit.SECONDS);
    cli.close();
    Children.await(Duration.ofSeconds(15), () -> "no process left using " + data + ": "
        + Children.processesMentioning(data.toString()),
        () -> Children.processesMentioning(data.toString()).isEmpty());
    if (!Boolean.getBoolean("relaymesh.e2e.keep")) {
      try (java.util.stream.Stream<Path> files = Files.walk(tmp)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    return exited;
  }
}
