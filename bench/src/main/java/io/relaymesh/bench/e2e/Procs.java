package io.relaymesh.bench.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The processes the suite starts: each with its output in a log file of the work dir; all of them
 * stopped at the end (SIGTERM, then SIGKILL of the process tree; daemons also by their pid files),
 * also on failure or Ctrl-C (shutdown hook).
 */
public final class Procs implements AutoCloseable {

  public record Proc(String name, Process process, Path out, Path err) {
    public long pid() {
      return process.pid();
    }

    public String stdout() {
      return read(out);
    }

    public String stderr() {
      return read(err);
    }
  }

  final Path work;
  private final List<Proc> procs = new CopyOnWriteArrayList<>();
  private final List<Path> pidFiles = new CopyOnWriteArrayList<>();
  private int seq;

  public Procs(Path work) {
    this.work = work;
  }

  public synchronized Proc start(String name, List<String> cmd, Map<String, String> env) throws IOException {
    String file = name + "-" + (++seq);
    Path out = work.resolve(file + ".out");
    Path err = work.resolve(file + ".err");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.PIPE);
    pb.environment().putAll(env);
    Process p = pb.start();
    Proc proc = new Proc(name, p, out, err);
    procs.add(proc);
    return proc;
  }

  /** A command run to its end (bounded): exit code and output. */
  public record Result(int exit, String out, String err) {}

  public static Result run(List<String> cmd, Map<String, String> env, Duration timeout, String stdin) throws IOException {
    Path out = Files.createTempFile("suite-run", ".out");
    Path err = Files.createTempFile("suite-run", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      try (var in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException e) {
        // the command does not read stdin
      }
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          kill(p.toHandle(), Duration.ofSeconds(2));
          throw new IllegalStateException(String.join(" ", cmd) + ": timed out after " + timeout.toSeconds() + " s");
        }
      } catch (InterruptedException e) {
        kill(p.toHandle(), Duration.ZERO);
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
      return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** A daemon that forks or writes a pid file: its pid is read from there and killed at the end. */
  void pidFile(Path file) {
    pidFiles.add(file);
  }

  public static void await(Duration timeout, String what, Proc proc, BooleanSupplier ok) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (ok.getAsBoolean()) {
        return;
      }
      if (proc != null && !proc.process().isAlive()) {
        throw new IllegalStateException(what + ": " + proc.name() + " exited with " + proc.process().exitValue()
            + "\n--- stdout\n" + tail(proc.stdout()) + "\n--- stderr\n" + tail(proc.stderr()));
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(what + ": not within " + timeout.toSeconds() + " s"
        + (proc == null ? "" : "\n--- stdout\n" + tail(proc.stdout()) + "\n--- stderr\n" + tail(proc.stderr())));
  }

  public static String tail(String s) {
    return s.length() <= 3000 ? s : "..." + s.substring(s.length() - 3000);
  }

  static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops one process (and its descendants) now; {@code grace} null: SIGKILL at once. */
  public void stop(Proc p, Duration grace) {
    procs.remove(p);
    if (grace == null) {
      List<ProcessHandle> tree = p.process().toHandle().descendants().toList();
      p.process().destroyForcibly();
      tree.forEach(ProcessHandle::destroyForcibly);
      try {
        p.process().onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(p.name() + " (pid " + p.pid() + ") did not exit within 30 s of SIGKILL", e);
      }
    } else {
      kill(p.process().toHandle(), grace);
    }
  }

  /** SIGTERM to the process, up to {@code grace} to exit, then SIGKILL to it and its descendants. */
  static void kill(ProcessHandle h, Duration grace) {
    List<ProcessHandle> tree = new ArrayList<>(h.descendants().toList());
    h.destroy();
    try {
      h.onExit().get(Math.max(1, grace.toMillis()), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      h.destroyForcibly();
    }
    for (ProcessHandle d : tree) {
      if (d.isAlive()) {
        d.destroyForcibly();
      }
    }
  }

  @Override
  public synchronized void close() {
    List<Proc> reversed = new ArrayList<>(procs);
    Collections.reverse(reversed); // clients first, the control plane (and its PostgreSQL) last
    for (Proc p : reversed) {
      kill(p.process().toHandle(), Duration.ofSeconds(p.name().equals("server") ? 30 : 5));
    }
    procs.clear();
    for (Path f : pidFiles) {
      try {
        if (Files.exists(f)) {
          long pid = Long.parseLong(Files.readString(f).trim());
          ProcessHandle.of(pid).ifPresent(h -> kill(h, Duration.ofSeconds(5)));
        }
      } catch (IOException | NumberFormatException e) {
        System.err.println("cannot stop the process of " + f + ": " + e.getMessage());
      }
    }
    pidFiles.clear();
  }

  /** Deletes {@code dir} and everything under it (best effort, said on stderr when it fails). */
  public static void deleteTree(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      System.err.println("cannot delete " + dir + ": " + e.getMessage());
    }
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
