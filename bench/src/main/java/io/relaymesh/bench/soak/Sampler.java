package io.relaymesh.bench.soak;

import io.relaymesh.bench.e2e.Procs;
import io.relaymesh.bench.e2e.RelaymeshStack;
import io.relaymesh.bench.soak.Trend.Sample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The resource series of one process (one lifetime of it: a restarted relay gets a new sampler).
 * Every sample: open file descriptors and live threads (its Prometheus /metrics when it has one:
 * {@code process_files_open_files}, {@code jvm_threads_live_threads}, and {@code
 * jvm_buffer_memory_used_bytes{id="direct"}}; else /proc). With {@code gc}: one {@code jcmd PID -f}
 * runs {@code GC.run} (a full collection), {@code GC.heap_info} (heap used after it: the sum over
 * the heap or its generations) and {@code VM.native_memory summary} (the "Other" category, where
 * {@code Unsafe.allocateMemory} lands: NIO and Netty direct buffers alike; needs the JVM started with
 * {@code -XX:NativeMemoryTracking=summary}) and {@code Thread.print} (threads inside and outside
 * Vert.x's bounded pools).
 */
final class Sampler {

  static final String HEAP = "heap used after GC";
  static final String NATIVE_OTHER = "NMT Other (direct buffers)";
  static final String DIRECT = "jvm_buffer direct";
  static final String FDS = "open fds";
  static final String THREADS = "live threads";
  static final String UNPOOLED = "threads outside Vert.x pools";
  static final String POOLED = "Vert.x pool threads";
  static final List<String> METRICS = List.of(HEAP, NATIVE_OTHER, DIRECT, FDS, THREADS, UNPOOLED, POOLED);
  /**
   * Vert.x's worker and internal-blocking pools start a thread per task until they hold their
   * size (20 each by default; the CLI's client commands use 2): bounded, but growing for a while,
   * which a trend cannot tell from a leak. Their threads are counted apart and checked against the
   * bound; every other thread is judged by the trend.
   */
  static final int POOL_BOUND = 40;
  private static final Pattern POOL_THREAD = Pattern.compile("vert\\.x-(worker-thread|internal-blocking)-\\d+");
  private static final Pattern THREAD_NAME = Pattern.compile("(?m)^\"([^\"]*)\"");

  /** GC.heap_info: "garbage-first heap total 40960K, used 5596K", "def new generation ...", "tenured generation ..." */
  private static final Pattern USED = Pattern.compile("(?m)^ \\S[^\\n]*?\\s+total \\d+K, used (\\d+)K");
  private static final Pattern OTHER = Pattern.compile("Other \\(reserved=(\\d+)KB, committed=(\\d+)KB");

  final String name;
  final Procs.Proc proc;
  private final String metricsUrl;
  private final RelaymeshStack rm;
  private final Path jcmdScript;
  final Map<String, List<Sample>> series = new LinkedHashMap<>();
  final double startedAt;
  /** the last jcmd or scrape problem (not a traffic failure), for the report */
  volatile String lastProblem;
  int problems;

  Sampler(String name, Procs.Proc proc, String metricsUrl, RelaymeshStack rm, Path work, double startedAt)
      throws IOException {
    this.name = name;
    this.proc = proc;
    this.metricsUrl = metricsUrl;
    this.rm = rm;
    this.startedAt = startedAt;
    this.jcmdScript = work.resolve("jcmd-commands.txt");
    Files.writeString(jcmdScript, "GC.run\nGC.heap_info\nVM.native_memory summary\nThread.print\n");
    METRICS.forEach(m -> series.put(m, new ArrayList<>()));
  }

  boolean alive() {
    return proc.process().isAlive();
  }

  /** One sample at {@code t} seconds into the run; with {@code gc} also heap after a full GC and NMT. */
  synchronized void sample(double t, boolean gc) {
    if (!alive()) {
      return;
    }
    try {
      if (gc) {
        Procs.Result r = Procs.run(List.of(jcmd(), Long.toString(proc.pid()), "-f", jcmdScript.toString()),
            Map.of(), Duration.ofSeconds(60), null);
        if (r.exit() != 0) {
          throw new IOException("jcmd exit " + r.exit() + ": " + Procs.tail(r.err() + r.out()));
        }
        Matcher m = USED.matcher(r.out());
        long heap = 0;
        int n = 0;
        while (m.find()) {
          heap += Long.parseLong(m.group(1)) * 1024;
          n++;
        }
        if (n > 0) {
          series.get(HEAP).add(new Sample(t, heap));
        }
        Matcher o = OTHER.matcher(r.out());
        if (o.find()) {
          series.get(NATIVE_OTHER).add(new Sample(t, Long.parseLong(o.group(2)) * 1024.0));
        }
        Matcher th = THREAD_NAME.matcher(r.out());
        int all = 0;
        int pooled = 0;
        while (th.find()) {
          all++;
          pooled += POOL_THREAD.matcher(th.group(1)).matches() ? 1 : 0;
        }
        if (all > 0) {
          series.get(UNPOOLED).add(new Sample(t, all - pooled));
          series.get(POOLED).add(new Sample(t, pooled));
        }
      }
      String url = metricsUrl;
      if (url != null) {
        String scrape = rm.scrape(url);
        series.get(FDS).add(new Sample(t, RelaymeshStack.sumSeries(scrape, "process_files_open_files", "")));
        series.get(THREADS).add(new Sample(t, RelaymeshStack.sumSeries(scrape, "jvm_threads_live_threads", "")));
        series.get(DIRECT).add(new Sample(t, RelaymeshStack.sumSeries(scrape, "jvm_buffer_memory_used_bytes",
            "id=\"direct\"")));
      } else {
        Path p = Path.of("/proc", Long.toString(proc.pid()));
        try (Stream<Path> fds = Files.list(p.resolve("fd"))) {
          series.get(FDS).add(new Sample(t, fds.count()));
        }
        Matcher m = Pattern.compile("(?m)^Threads:\\s+(\\d+)").matcher(Files.readString(p.resolve("status")));
        if (m.find()) {
          series.get(THREADS).add(new Sample(t, Long.parseLong(m.group(1))));
        }
      }
    } catch (Exception e) {
      if (alive()) { // a relay being restarted is not a problem
        problems++;
        lastProblem = e.toString();
      }
    }
  }

  /** The process's live threads grouped by name (digits as #), biggest groups first. */
  String threadNames() {
    try {
      Procs.Result r = Procs.run(List.of(jcmd(), Long.toString(proc.pid()), "Thread.print"), Map.of(),
          Duration.ofSeconds(60), null);
      Map<String, Integer> groups = new java.util.TreeMap<>();
      Matcher m = Pattern.compile("(?m)^\"([^\"]*)\"").matcher(r.out());
      int n = 0;
      while (m.find()) {
        groups.merge(m.group(1).replaceAll("\\d+", "#"), 1, Integer::sum);
        n++;
      }
      return n + " threads: " + groups.entrySet().stream()
          .sorted((a, b) -> b.getValue() - a.getValue())
          .map(e -> e.getKey() + " x" + e.getValue()).collect(java.util.stream.Collectors.joining(", "));
    } catch (Exception e) {
      return "jcmd Thread.print failed: " + e;
    }
  }

  private static String jcmd() {
    return Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
  }
}
