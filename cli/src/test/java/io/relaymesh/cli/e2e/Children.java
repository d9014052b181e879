package io.relaymesh.cli.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Child processes of an end-to-end test: the CLI in its own JVM (the same class path as the
 * test), OpenSSH, shells. Every child gets {@code HOME} and {@code RELAYMESH_CONFIG_DIR} inside
 * the test's temp dir, so the real ~/.ssh and ~/.config are never read or written; output goes
 * to files (no pipe can fill up and block a child).
 */
final class Children implements AutoCloseable {

  /** A finished child. */
  record Result(int exit, String out, String err, byte[] outBytes) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
    }
  }

  /** A running child and the files its output goes to. */
  record Child(Process process, Path out, Path err) {
    String stdout() {
      return read(out);
    }

    String stderr() {
      return read(err);
    }

    @Override
    public String toString() {
      return "pid " + process.pid() + "\n--- stdout:\n" + stdout() + "\n--- stderr:\n" + stderr();
    }
  }

  static final String CP = System.getProperty("java.class.path");
  /** Short-lived CLI JVMs start faster with C1 only and the serial collector. */
  static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
      "-Xmx256m");

  final Path dir;
  final Path home;
  final Path configDir;
  final Path self;
  private static final AtomicInteger SEQ = new AtomicInteger();
  private final List<Child> started = new ArrayList<>();

  private final Map<String, String> extraEnv;

  Children(Path dir, Path configDir) {
    this(dir, configDir, Map.of());
  }

  Children(Path dir, Path configDir, Map<String, String> extraEnv) {
    this.extraEnv = Map.copyOf(extraEnv);
    this.dir = dir;
    this.home = dir.resolve("home");
    this.configDir = configDir;
    try {
      Files.createDirectories(home);
      Files.createDirectories(dir.resolve("logs"));
      self = dir.resolve("relaymesh");
      if (!Files.exists(self)) {
        Files.writeString(self, "#!/bin/sh\nexec '" + javaBin() + "' " + String.join(" ", JVM)
            + " -cp '" + CP + "' io.relaymesh.cli.Main \"$@\"\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(self, PosixFilePermissions.fromString("rwx------"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The same children, but logged in through another config dir (another user). */
  Children withConfigDir(Path otherConfigDir) {
    return new Children(dir, otherConfigDir, extraEnv);
  }

  /** The same children with {@code vars} added to their environment. */
  Children withEnv(Map<String, String> vars) {
    Map<String, String> all = new HashMap<>(extraEnv);
    all.putAll(vars);
    return new Children(dir, configDir, all);
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  Map<String, String> env() {
    Map<String, String> env = new HashMap<>();
    System.getenv().forEach((k, v) -> {
      if (!k.startsWith("RELAYMESH_") && !k.startsWith("SSH_")) {
        env.put(k, v);
      }
    });
    env.put("HOME", home.toString());
    env.put("RELAYMESH_CONFIG_DIR", configDir.toString());
    env.put("RELAYMESH_SELF", self.toString());
    env.putAll(extraEnv);
    return env;
  }

  /** {@code java ... io.relaymesh.cli.Main args}. */
  List<String> cli(String... args) {
    List<String> cmd = new ArrayList<>(List.of(javaBin()));
    cmd.addAll(JVM);
    cmd.addAll(List.of("-cp", CP, "io.relaymesh.cli.Main"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  Child start(List<String> cmd, byte[] stdin) {
    int n = SEQ.incrementAndGet();
    String name = Path.of(cmd.get(0)).getFileName() + "-" + n;
    Path out = dir.resolve("logs").resolve(name + ".out");
    Path err = dir.resolve("logs").resolve(name + ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().clear();
    pb.environment().putAll(env());
    Path in = null;
    if (stdin != null) {
      in = dir.resolve("logs").resolve(name + ".in");
      try {
        Files.write(in, stdin);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      pb.redirectInput(in.toFile());
    } else {
      pb.redirectInput(new java.io.File("/dev/null"));
    }
    try {
      Child c = new Child(pb.start(), out, err);
      synchronized (started) {
        started.add(c);
      }
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code cmd} to completion, failing the test when it takes longer than {@code limit}. */
  Result run(Duration limit, byte[] stdin, List<String> cmd) {
    Child c = start(cmd, stdin);
    try {
      if (!c.process().waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        stop(c.process(), Duration.ofSeconds(2));
        throw new AssertionError("still running after " + limit.toSeconds() + "s: " + cmd
            + "\n" + c);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    byte[] outBytes;
    try {
      outBytes = Files.readAllBytes(c.out());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Result(c.process().exitValue(), new String(outBytes, StandardCharsets.UTF_8),
        c.stderr(), outBytes);
  }

  Result run(Duration limit, List<String> cmd) {
    return run(limit, null, cmd);
  }

  Result cliRun(String... args) {
    return run(Duration.ofSeconds(60), cli(args));
  }

  /**
   * Waits up to {@code limit} for {@code cond}; fails with {@code what} (computed then, so that
   * it shows the children's output at the time of the failure) otherwise.
   */
  static void await(Duration limit, Supplier<String> what, BooleanSupplier cond) {
    long end = System.nanoTime() + limit.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("waited " + limit.toSeconds() + "s for " + what.get());
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** SIGTERM, up to {@code grace} to exit, then SIGKILL for it and everything it started. */
  static void stop(Process p, Duration grace) {
    List<ProcessHandle> descendants = p.descendants().toList();
    p.destroy();
    try {
      p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (p.isAlive()) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }

  static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "<" + e + ">";
    }
  }

  /** Command lines of live processes that mention {@code text} (from /proc; no ps needed). */
  static List<String> processesMentioning(String text) {
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
        .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))
        .filter(l -> l.contains(text)).toList();
  }

  /** Stops every child still running (SIGTERM, 30 s, then SIGKILL with descendants). */
  @Override
  public void close() {
    List<Child> all;
    synchronized (started) {
      all = new ArrayList<>(started);
    }
    all.stream().filter(c -> c.process().isAlive()).forEach(c -> c.process().destroy());
    for (Child c : all) {
      stop(c.process(), Duration.ofSeconds(30));
    }
  }
}
