package io.relaymesh.bench.soak;

import io.relaymesh.bench.e2e.Measure;
import io.relaymesh.bench.e2e.Procs;
import io.relaymesh.bench.e2e.RelaymeshStack;
import io.relaymesh.bench.e2e.Stats;
import io.relaymesh.bench.e2e.SuiteMain;
import io.relaymesh.bench.e2e.TargetMain;
import io.relaymesh.bench.soak.Trend.Outcome;
import io.relaymesh.bench.soak.Trend.Sample;
import io.relaymesh.bench.soak.Trend.Tolerance;
import io.relaymesh.bench.soak.Trend.Verdict;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Issue 9's soak profile: the Relaymesh processes of the end-to-end suite (control plane, relay,
 * agent, port-forward; {@link RelaymeshStack}) under mixed traffic for a bounded time, with the
 * relay restarted periodically (alternately SIGTERM, i.e. drain, and SIGKILL). Traffic: 64 B
 * echoes through the port-forward (latency per minute), periodic bulk up/downloads with CRC32
 * checks, HTTPS requests to a shared app through the relay's apps host, `ssh workspace true` with
 * the real OpenSSH client through the {@code relaymesh ssh --stdio} ProxyCommand and one long-lived
 * SSH session echoing lines through {@code cat}. The resource series of every long-lived process
 * (and of each relay lifetime) are judged by {@link Trend}; every failed operation is counted and
 * printed; failures outside the window around a restart fail the run. Run through {@code
 * bench/run-soak.sh}.
 */
public final class SoakMain {

  // ---- options ---------------------------------------------------------------------------------
  Path jar = Path.of("cli/target/relaymesh.jar");
  Path launcher = Path.of("relaymesh");
  Path out;
  double minutes = 10;
  int restartEverySec = 120;
  int sampleEverySec = 10;
  int gcEverySec = 20;
  double warmupSec = -1; // default: max(60 s, 15% of the run)
  int echoEveryMs = 100;
  int httpEveryMs = 1000;
  int sshEverySec = 20;
  int sessionLineEverySec = 5;
  int bulkEverySec = 30;
  long bulkBytes = 8L << 20;
  int graceSec = 30;
  boolean keepWork;

  // ---- state -----------------------------------------------------------------------------------
  private Procs procs;
  private Path work;
  private RelaymeshStack rm;
  private long t0;
  private volatile boolean stopping;
  private final List<Thread> threads = new ArrayList<>();
  private final List<Sampler> samplers = new CopyOnWriteArrayList<>();
  private final List<Sampler> relayLifetimes = new CopyOnWriteArrayList<>();
  private final List<double[]> echoes = Collections.synchronizedList(new ArrayList<>()); // {t, us}
  private final Map<String, List<Double>> successes = new LinkedHashMap<>();
  private final List<Failure> failures = new CopyOnWriteArrayList<>();
  private final List<Restart> restarts = new CopyOnWriteArrayList<>();
  private final List<String> facts = new ArrayList<>();
  private final Map<String, String> threadNames = new LinkedHashMap<>();

  static final List<String> OPS = List.of("echo", "bulk", "http", "ssh", "ssh-session");

  record Failure(double t, String op, String error) {}

  static final class Restart {
    final int n;
    final boolean kill;
    final double stopAt;
    volatile double readyAt = Double.NaN;
    volatile double tunnelAt = Double.NaN;
    volatile String error;

    Restart(int n, boolean kill, double stopAt) {
      this.n = n;
      this.kill = kill;
      this.stopAt = stopAt;
    }

    /** End of the window in which failures are expected: recovery (or 120 s) plus the grace. */
    double windowEnd(double grace) {
      double rec = !Double.isNaN(tunnelAt) ? tunnelAt : !Double.isNaN(readyAt) ? readyAt : stopAt + 120;
      return rec + grace;
    }
  }

  public static void main(String[] args) throws Exception {
    SoakMain s = new SoakMain();
    s.parse(args);
    int rc;
    try {
      rc = s.run() ? 0 : 1;
    } catch (Exception e) {
      System.err.println("FAILED: " + e);
      e.printStackTrace();
      rc = 2;
    } finally {
      s.stop();
    }
    System.exit(rc);
  }

  void parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--minutes" -> minutes = Double.parseDouble(args[++i]);
        case "--restart-every" -> restartEverySec = Integer.parseInt(args[++i]);
        case "--sample-every" -> sampleEverySec = Integer.parseInt(args[++i]);
        case "--gc-every" -> gcEverySec = Integer.parseInt(args[++i]);
        case "--warmup" -> warmupSec = Double.parseDouble(args[++i]);
        case "--echo-every-ms" -> echoEveryMs = Integer.parseInt(args[++i]);
        case "--http-every-ms" -> httpEveryMs = Integer.parseInt(args[++i]);
        case "--ssh-every" -> sshEverySec = Integer.parseInt(args[++i]);
        case "--bulk-every" -> bulkEverySec = Integer.parseInt(args[++i]);
        case "--bulk-mib" -> bulkBytes = Long.parseLong(args[++i]) << 20;
        case "--grace" -> graceSec = Integer.parseInt(args[++i]);
        case "--jar" -> jar = Path.of(args[++i]);
        case "--launcher" -> launcher = Path.of(args[++i]);
        case "--no-launcher" -> launcher = null;
        case "--out" -> out = Path.of(args[++i]);
        case "--keep-work" -> keepWork = true;
        default -> {
          System.err.println("""
              usage: SoakMain [--minutes 10] [--restart-every 120 (s; 0: none)] [--sample-every 10] [--gc-every 20]
                     [--warmup SECONDS (default max(60, 15% of the run))] [--echo-every-ms 100] [--http-every-ms 1000]
                     [--ssh-every 20] [--bulk-every 30] [--bulk-mib 8] [--grace 30 (s after a restart's recovery)]
                     [--jar cli/target/relaymesh.jar] [--launcher ./relaymesh | --no-launcher] [--out FILE] [--keep-work]""");
          System.exit(a.equals("--help") ? 0 : 2);
        }
      }
    }
    if (warmupSec < 0) {
      warmupSec = Math.max(60, minutes * 60 * 0.15);
    }
  }

  double now() {
    return (System.nanoTime() - t0) / 1e9;
  }

  // ---- run -------------------------------------------------------------------------------------

  boolean run() throws Exception {
    launcher = RelaymeshStack.launcherOf(jar, launcher);
    work = Files.createTempDirectory("relaymesh-soak-");
    procs = new Procs(work);
    Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "soak-cleanup"));
    OPS.forEach(op -> successes.put(op, Collections.synchronizedList(new ArrayList<>())));
    facts.add("started " + Instant.now() + "; nproc " + Runtime.getRuntime().availableProcessors() + ", load average "
        + SuiteMain.loadavg() + ", JDK " + System.getProperty("java.runtime.version"));
    SuiteMain.log("work dir " + work);

    TargetMain.Ports tp = TargetMain.launch(procs);
    rm = new RelaymeshStack(procs, work.resolve("relaymesh"), jar, launcher);
    String opts = System.getenv("RELAYMESH_JAVA_OPTS");
    rm.javaOpts = ((opts == null ? "" : opts + " ") + "-XX:NativeMemoryTracking=summary").trim();
    long s0 = System.nanoTime();
    rm.start();
    rm.portForward(List.of(tp.echo(), tp.sink(), tp.source()));
    String host = rm.share(tp.http());
    Path sshConfig = work.resolve("ssh_config");
    rm.configSsh(sshConfig);
    Path key = work.resolve("id_ed25519");
    Procs.Result kg = Procs.run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()),
        Map.of(), Duration.ofSeconds(30), null);
    if (kg.exit() != 0) {
      throw new IllegalStateException("ssh-keygen: " + kg.err());
    }
    List<String> ssh = List.of("ssh", "-F", sshConfig.toString(), "-i", key.toString(), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
        "relaymesh." + RelaymeshStack.WORKSPACE);
    SuiteMain.log(String.format(Locale.ROOT, "stack up in %.1f s: control plane %s, relay :%d, agent metrics %s, "
        + "port-forward %s, app %s", (System.nanoTime() - s0) / 1e9, rm.controlUrl, rm.relayPort,
        rm.agentMetricsUrl, rm.forwarded, host));
    facts.add("processes: control plane pid " + rm.server.pid() + ", agent pid " + rm.agent.pid()
        + ", port-forward pid " + rm.forward.pid() + " (all started by the ./relaymesh launcher with RELAYMESH_JAVA_OPTS="
        + rm.javaOpts + ")");

    int echoLocal = rm.forwarded.get(tp.echo());
    int sinkLocal = rm.forwarded.get(tp.sink());
    int sourceLocal = rm.forwarded.get(tp.source());
    Op http = () -> {
      AppHttp.Response r = AppHttp.get(rm.relayPort, host, TargetMain.HTTP_PATH, 15_000);
      if (r.status() != 200 || !r.body().equals(TargetMain.HTTP_BODY)) {
        throw new IOException("HTTP " + r.status() + ", " + r.body().length() + " bytes: "
            + r.body().substring(0, Math.min(120, r.body().length())).replaceAll("\\s+", " "));
      }
    };
    List<String> sshTrue = new ArrayList<>(ssh);
    sshTrue.add("true");
    Op sshOnce = () -> {
      Procs.Result r = Procs.run(sshTrue, rm.cliEnv(), Duration.ofSeconds(90), null);
      if (r.exit() != 0) {
        throw new IOException("ssh true: exit " + r.exit() + ": " + Procs.tail(r.err().trim()));
      }
    };
    // every path answers once before the clock starts (the first stream waits for the forwarder's
    // first dial, the first ssh for the ProxyCommand's class-data archive)
    awaitOnce("echo through the port-forward", () -> Measure.echo(echoLocal, 0, 3, Long.MAX_VALUE));
    awaitOnce("HTTPS to the shared app", http);
    awaitOnce("ssh relaymesh.bench true", sshOnce);

    t0 = System.nanoTime();
    double end = minutes * 60;
    samplers.add(new Sampler("control plane", rm.server, rm.controlUrl, rm, work, 0));
    samplers.add(new Sampler("agent", rm.agent, rm.agentMetricsUrl, rm, work, 0));
    samplers.add(new Sampler("port-forward", rm.forward, null, rm, work, 0));
    newRelayLifetime();

    spawn("echo", () -> echoLoop(echoLocal));
    spawn("bulk", () -> every(bulkEverySec * 1000L, "bulk", () -> {
      Measure.upload(sinkLocal, bulkBytes, false);
      Measure.download(sourceLocal, bulkBytes);
    }));
    spawn("http", () -> every(httpEveryMs, "http", http));
    spawn("ssh", () -> every(sshEverySec * 1000L, "ssh", sshOnce));
    spawn("ssh-session", () -> sshSession(ssh));
    spawn("sampler", () -> {
      long next = 0;
      long gcNext = 0;
      while (!stopping) {
        double t = now();
        boolean gc = t * 1000 >= gcNext;
        if (gc) {
          gcNext += gcEverySec * 1000L;
        }
        for (Sampler s : samplers) {
          s.sample(t, gc);
        }
        next = sleepUntil(next, sampleEverySec * 1000L);
      }
    });

    double lastUp = 0; // when the current relay's lifetime began (its agent tunnel came back)
    for (int n = 1; ; n++) {
      // each relay lives restartEverySec with traffic; no restart in the last 90 s: its recovery is seen
      double next = restartEverySec > 0 ? lastUp + restartEverySec : Double.MAX_VALUE;
      boolean restart = next <= end - 90;
      double wakeAt = restart ? next : end;
      while (now() < wakeAt) {
        Thread.sleep(Math.max(1, Math.min(1000, (long) ((wakeAt - now()) * 1000))));
      }
      if (!restart) {
        break;
      }
      restart(n, n % 2 == 0);
      lastUp = now();
    }
    SuiteMain.log("time is up: stopping the traffic");
    stopping = true;
    for (Thread t : threads) {
      t.interrupt();
    }
    for (Thread t : threads) {
      t.join(120_000);
    }
    double t = now();
    for (Sampler s : samplers) {
      s.sample(t, true);
      threadNames.put(s.name, s.threadNames());
    }
    return report();
  }

  private void newRelayLifetime() throws IOException {
    Sampler s = new Sampler("relay #" + (relayLifetimes.size() + 1), rm.relay, rm.adminUrl, rm, work, now());
    relayLifetimes.add(s);
    samplers.add(s);
  }

  private void restart(int n, boolean kill) {
    Restart r = new Restart(n, kill, now());
    restarts.add(r);
    SuiteMain.log("restart " + n + ": relay " + (kill ? "SIGKILL" : "SIGTERM (drain)") + " and start again");
    Sampler old = relayLifetimes.get(relayLifetimes.size() - 1);
    old.sample(now(), true); // the lifetime's last sample, GC included
    try {
      rm.restartRelay(kill);
      r.readyAt = now();
      samplers.remove(old);
      newRelayLifetime();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < until && rm.metric("relaymesh_relay_agent_tunnels") < 1) {
        Thread.sleep(100);
      }
      if (rm.metric("relaymesh_relay_agent_tunnels") >= 1) {
        r.tunnelAt = now();
      } else {
        r.error = "no agent tunnel at the restarted relay within 120 s";
      }
      SuiteMain.log(String.format(Locale.ROOT, "restart %d: relay ready after %.1f s, agent tunnel after %.1f s", n,
          r.readyAt - r.stopAt, r.tunnelAt - r.stopAt));
    } catch (Exception e) {
      r.error = e.toString();
      SuiteMain.log("restart " + n + " FAILED: " + e);
    }
  }

  // ---- traffic ---------------------------------------------------------------------------------

  private interface Op {
    void run() throws Exception;
  }

  /** Runs {@code op} until it succeeds, for up to 3 minutes (attempts 2 s apart). */
  private static void awaitOnce(String what, Op op) throws Exception {
    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    long t = System.nanoTime();
    while (true) {
      try {
        op.run();
        SuiteMain.log(String.format(Locale.ROOT, "%s: answered after %.1f s", what, (System.nanoTime() - t) / 1e9));
        return;
      } catch (IOException e) {
        if (System.nanoTime() > end) {
          throw new IllegalStateException(what + ": no answer within 3 minutes: " + e, e);
        }
        Thread.sleep(2000);
      }
    }
  }

  private void spawn(String name, Op body) {
    Thread t = new Thread(() -> {
      try {
        body.run();
      } catch (InterruptedException e) {
        // stopping
      } catch (Exception e) {
        if (!stopping) {
          fail(name, e);
        }
      }
    }, "soak-" + name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  private void every(long periodMs, String op, Op body) throws InterruptedException {
    long next = (long) (now() * 1000);
    while (!stopping) {
      try {
        body.run();
        ok(op);
      } catch (InterruptedException e) {
        throw e;
      } catch (Exception e) {
        if (stopping) {
          return;
        }
        fail(op, e);
      }
      next = sleepUntil(next, periodMs);
    }
  }

  /**
   * Sleeps until the tick after {@code tick} (ms into the run) and returns it. Ticks missed while an
   * operation hung are skipped, not made up in a burst.
   */
  private long sleepUntil(long tick, long periodMs) throws InterruptedException {
    long next = tick + periodMs;
    long wait = next - (long) (now() * 1000);
    if (wait <= 0) {
      return (long) (now() * 1000);
    }
    Thread.sleep(wait);
    return next;
  }

  private void echoLoop(int port) throws InterruptedException {
    byte[] payload = new byte[Measure.ECHO];
    byte[] back = new byte[Measure.ECHO];
    ThreadLocalRandom.current().nextBytes(payload);
    Socket s = null;
    long seq = 0;
    long next = (long) (now() * 1000);
    while (!stopping) {
      try {
        if (s == null) {
          s = Measure.connect(port);
          s.setSoTimeout(10_000);
        }
        long ns = Measure.echoOnce(s, payload, back, seq++);
        echoes.add(new double[] {now(), ns / 1e3});
        ok("echo");
      } catch (IOException e) {
        if (stopping) {
          break;
        }
        fail("echo", e);
        close(s);
        s = null;
        Thread.sleep(500);
      }
      next = sleepUntil(next, echoEveryMs);
    }
    close(s);
  }

  /** One long-lived `ssh workspace cat`: a line every few seconds must come back; restarted when it breaks. */
  private void sshSession(List<String> ssh) throws Exception {
    List<String> cmd = new ArrayList<>(ssh);
    cmd.add("cat");
    int seq = 0;
    while (!stopping) {
      Procs.Proc p = procs.start("ssh-session", cmd, rm.cliEnv()); // its stdout goes to p.out()
      boolean first = true;
      try (OutputStream in = p.process().getOutputStream()) {
        long next = (long) (now() * 1000);
        while (!stopping) {
          String line = "soak line " + (++seq);
          in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
          in.flush();
          // the first line waits for the session's setup too (a fresh ProxyCommand JVM)
          int wait = first ? 120 : 30;
          first = false;
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(wait);
          String got = p.stdout();
          while (!got.endsWith(line + "\n") && System.nanoTime() < until && p.process().isAlive()) {
            Thread.sleep(20);
            got = p.stdout();
          }
          if (!got.endsWith(line + "\n")) {
            String lastLine = got.isEmpty() ? "nothing" : "'" + got.substring(got.lastIndexOf('\n', got.length() - 2) + 1).trim() + "' last";
            throw new IOException("ssh session: sent '" + line + "', got " + lastLine + " in " + wait + " s"
                + (p.process().isAlive() ? "" : " (ssh exited " + p.process().exitValue() + ": "
                + Procs.tail(p.stderr().trim()) + ")"));
          }
          ok("ssh-session");
          next = sleepUntil(next, sessionLineEverySec * 1000L);
        }
      } catch (IOException e) {
        if (stopping) {
          break;
        }
        fail("ssh-session", e);
        Thread.sleep(1000);
      } finally {
        procs.stop(p, Duration.ofSeconds(2));
      }
    }
  }

  private static void close(Socket s) {
    try {
      if (s != null) {
        s.close();
      }
    } catch (IOException e) {
      // closing anyway
    }
  }

  private void ok(String op) {
    successes.get(op).add(now());
  }

  private void fail(String op, Exception e) {
    String msg = e.getMessage() == null ? e.toString() : e.getClass().getSimpleName() + ": " + e.getMessage();
    Failure f = new Failure(now(), op, msg.replaceAll("\\s+", " "));
    failures.add(f);
    SuiteMain.log(String.format(Locale.ROOT, "FAILED %s at %.1f s: %s", op, f.t(), f.error()));
  }

  // ---- report ----------------------------------------------------------------------------------

  static final Map<String, Tolerance> TOLERANCES = Map.of(
      Sampler.HEAP, new Tolerance(4 << 20, 0.05),
      Sampler.NATIVE_OTHER, new Tolerance(8 << 20, 0.10),
      Sampler.DIRECT, new Tolerance(8 << 20, 0.10),
      Sampler.FDS, new Tolerance(8, 0.10),
      Sampler.UNPOOLED, new Tolerance(4, 0.10));
  /** Latency: the last third of the minutes' p50 (p99) against the first third's. */
  static final Tolerance P50 = new Tolerance(500, 0.5);
  static final Tolerance P99 = new Tolerance(5000, 1.0);

  boolean expected(Failure f) {
    for (Restart r : restarts) {
      if (f.t() >= r.stopAt - 1 && f.t() <= r.windowEnd(graceSec)) {
        return true;
      }
    }
    return false;
  }

  private boolean report() throws IOException {
    boolean pass = true;
    StringBuilder b = new StringBuilder();
    facts.add("finished " + Instant.now() + ", load average " + SuiteMain.loadavg());
    facts.add(String.format(Locale.ROOT, "%.1f min of traffic: echo every %d ms on one connection (64 B); HTTPS GET "
        + "of a shared app every %d ms (fresh TLS connection); `ssh relaymesh.bench true` every %d s; one SSH "
        + "session (`cat`) with a line every %d s; %d MiB up + down with CRC32 every %d s; relay restart every %d s "
        + "(alternating SIGTERM / SIGKILL); samples every %d s, full GC + heap + NMT every %d s; trend warm-up %.0f s",
        minutes, echoEveryMs, httpEveryMs, sshEverySec, sessionLineEverySec, bulkBytes >> 20, bulkEverySec,
        restartEverySec, sampleEverySec, gcEverySec, warmupSec));
    b.append("\n## Relaymesh soak (issue 9)\n\n");
    facts.forEach(f -> b.append("- ").append(f).append('\n'));

    b.append("\n### Resources of the long-lived processes\n\n");
    b.append("Verdict: the median of the last third of the samples after the warm-up against the first third's; "
        + "allowed growth: heap max(4 MiB, 5%), NMT Other and direct max(8 MiB, 10%), fds max(8, 10%), threads outside the "
        + "Vert.x worker and internal-blocking pools max(4, 10%); the pools' threads (they grow to their size, "
        + "20 each, one per task) must stay within " + Sampler.POOL_BOUND + ".\n\n");
    b.append("| process | metric | first | last | verdict |\n|---|---|---:|---:|---|\n");
    List<Sampler> all = new ArrayList<>();
    for (Sampler s : samplers) {
      if (!s.name.startsWith("relay")) {
        all.add(s);
      }
    }
    for (Sampler s : all) {
      pass &= rows(b, s, warmupSec);
    }
    b.append("\n### Relay, per lifetime (restarted every ").append(restartEverySec)
        .append(" s; warm-up 30 s of each lifetime)\n\n");
    b.append("| lifetime | metric | first | last | verdict |\n|---|---|---:|---:|---|\n");
    for (Sampler s : relayLifetimes) {
      pass &= rows(b, s, s.startedAt + 30);
    }

    b.append("\n### Echo latency per minute (64 B round trip through port-forward, relay and agent)\n\n");
    b.append("| minute | echoes | p50 us | p99 us | max us | failed ops | restarts |\n|---:|---:|---:|---:|---:|---:|---|\n");
    int mins = (int) Math.ceil(minutes);
    List<Sample> p50 = new ArrayList<>();
    List<Sample> p99 = new ArrayList<>();
    List<double[]> ech;
    synchronized (echoes) {
      ech = new ArrayList<>(echoes);
    }
    for (int m = 0; m < mins; m++) {
      final int mm = m;
      double[] us = ech.stream().filter(e -> e[0] >= mm * 60 && e[0] < mm * 60 + 60).mapToDouble(e -> e[1]).toArray();
      long fails = failures.stream().filter(f -> f.t() >= mm * 60 && f.t() < mm * 60 + 60).count();
      String rs = restarts.stream().filter(r -> r.stopAt >= mm * 60 && r.stopAt < mm * 60 + 60)
          .map(r -> "#" + r.n + (r.kill ? " KILL" : " TERM")).reduce((x, y) -> x + ", " + y).orElse("");
      double a = Stats.percentile(us, 50);
      double c = Stats.percentile(us, 99);
      double mx = Stats.percentile(us, 100);
      b.append(String.format(Locale.ROOT, "| %d | %d | %.0f | %.0f | %.0f | %d | %s |%n", m + 1, us.length, a, c, mx,
          fails, rs));
      if (us.length > 0) {
        p50.add(new Sample(m * 60 + 30, a));
        p99.add(new Sample(m * 60 + 30, c));
      }
    }
    Verdict v50 = Trend.judge(p50, 60, P50);
    Verdict v99 = Trend.judge(p99, 60, P99);
    b.append("\nLatency verdict (medians of the minutes' values, last third vs first third after minute 1; allowed "
        + "p50 +max(500 us, 50%), p99 +max(5 ms, 100%)): p50 ").append(v50.describe("us", 1)).append("; p99 ")
        .append(v99.describe("us", 1)).append('\n');
    pass &= v50.outcome() != Outcome.FAIL && v99.outcome() != Outcome.FAIL;

    b.append("\n### Relay restarts and recovery (seconds after the signal; \"first OK\": the first success once the "
        + "new relay is ready)\n\n");
    b.append("| # | signal | at s | relay ready | agent tunnel | first echo OK | first HTTP OK | first ssh OK | "
        + "session line OK | first bulk OK | failed ops in window |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (Restart r : restarts) {
      Map<String, Long> byOp = new LinkedHashMap<>();
      failures.stream().filter(f -> f.t() >= r.stopAt - 1 && f.t() <= r.windowEnd(graceSec))
          .forEach(f -> byOp.merge(f.op(), 1L, Long::sum));
      b.append(String.format(Locale.ROOT, "| %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.n,
          r.kill ? "SIGKILL" : "SIGTERM", r.stopAt, secs(r.readyAt - r.stopAt), secs(r.tunnelAt - r.stopAt),
          firstOk("echo", r), firstOk("http", r), firstOk("ssh", r), firstOk("ssh-session", r), firstOk("bulk", r),
          byOp.isEmpty() ? "none" : byOp.toString()));
      if (r.error != null) {
        b.append("\nrestart ").append(r.n).append(" FAILED: ").append(r.error).append('\n');
        pass = false;
      }
      for (String op : OPS) {
        if (firstOk(op, r).equals("never")) {
          pass = false;
        }
      }
    }

    b.append("\n### Operations\n\n| operation | ok | failed (around a restart) | failed (other) |\n|---|---:|---:|---:|\n");
    for (String op : OPS) {
      long exp = failures.stream().filter(f -> f.op().equals(op) && expected(f)).count();
      long other = failures.stream().filter(f -> f.op().equals(op) && !expected(f)).count();
      b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d |%n", op, successes.get(op).size(), exp, other));
      pass &= other == 0 && !successes.get(op).isEmpty();
    }
    b.append("\n### Threads at the end (jcmd Thread.print, names with digits as #)\n\n");
    threadNames.forEach((k, v) -> b.append("- ").append(k).append(": ").append(v).append('\n'));
    b.append("\n### Every failed operation\n\n");
    if (failures.isEmpty()) {
      b.append("none\n");
    }
    for (Failure f : failures) {
      b.append(String.format(Locale.ROOT, "- %.1f s %s [%s]: %s%n", f.t(), f.op(), expected(f) ? "restart window"
          : "UNEXPECTED", f.error()));
    }
    for (Sampler s : samplers) {
      if (s.problems > 0) {
        b.append("- sampling ").append(s.name).append(": ").append(s.problems).append(" problems, last: ")
            .append(s.lastProblem).append('\n');
      }
    }
    b.append("\n**Verdict: ").append(pass ? "PASS" : "FAIL").append("**\n");
    System.out.println(b);
    if (out != null) {
      Files.writeString(out, b.toString());
      SuiteMain.log("report written to " + out);
    }
    return pass;
  }

  private boolean rows(StringBuilder b, Sampler s, double warmup) {
    boolean pass = true;
    for (String metric : Sampler.METRICS) {
      List<Sample> series = s.series.get(metric);
      if (series.isEmpty()) {
        continue;
      }
      boolean bytes = metric.equals(Sampler.HEAP) || metric.equals(Sampler.NATIVE_OTHER) || metric.equals(Sampler.DIRECT);
      double scale = bytes ? 1 << 20 : 1;
      String unit = bytes ? "MiB" : "";
      Tolerance tol = TOLERANCES.get(metric);
      Verdict v = Trend.judge(series, warmup, tol == null ? new Tolerance(Double.MAX_VALUE, 0) : tol);
      String verdict = v.describe(unit, scale);
      if (metric.equals(Sampler.POOLED)) {
        double max = series.stream().mapToDouble(Sample::v).max().orElse(0);
        boolean ok = max <= Sampler.POOL_BOUND;
        pass &= ok;
        verdict = String.format(Locale.ROOT, "%s: at most %.0f (bound %d: worker + internal-blocking pools)",
            ok ? "PASS" : "FAIL", max, Sampler.POOL_BOUND);
      } else if (tol == null) {
        verdict = String.format(Locale.ROOT, "not judged (Vert.x pools included; median %.0f -> %.0f)",
            v.firstThird(), v.lastThird());
      } else {
        pass &= v.outcome() != Outcome.FAIL;
      }
      b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", s.name, metric, fmt(v.first(), scale, unit),
          fmt(v.last(), scale, unit), verdict));
    }
    return pass;
  }

  private static String fmt(double v, double scale, String unit) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, scale == 1 ? "%.0f%s" : "%.1f %s", v / scale, unit);
  }

  private static String secs(double s) {
    return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.1f", s);
  }

  String firstOk(String op, Restart r) {
    List<Double> ok;
    synchronized (successes.get(op)) {
      ok = new ArrayList<>(successes.get(op));
    }
    double from = Double.isNaN(r.readyAt) ? r.stopAt : r.readyAt;
    return ok.stream().filter(t -> t > from).min(Comparator.naturalOrder())
        .map(t -> secs(t - r.stopAt)).orElse("never");
  }

  List<Restart> restarts() {
    return restarts;
  }

  synchronized void stop() {
    stopping = true;
    if (procs != null) {
      procs.close();
    }
    if (work != null && !keepWork) {
      Procs.deleteTree(work);
      work = null;
    } else if (work != null) {
      SuiteMain.log("kept " + work);
    }
  }
}
