package io.relaymesh.bench.load;

import io.relaymesh.bench.ControlHttp;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory per idle agent tunnel of a real relay process (issue 8: "one relay holds 10,000 idle TLS
 * agent tunnels with <= 40 kB of memory each, and keeps serving traffic meanwhile").
 *
 * <p>Starts, as separate processes from the shaded CLI jar, a control plane ({@code relaymesh
 * server --no-builtin-relay}, embedded PostgreSQL) and a relay ({@code relaymesh relay}, region
 * {@code bench}, admin listener for {@code /metrics}). This process then creates workspaces
 * through the control plane's HTTP API and opens one idle agent tunnel per workspace agent token
 * to the relay ({@code wss://.../api/v1/tunnel/agent}, {@link TunnelDialer} of the proxy module,
 * the relay's self-signed certificate pinned by the fingerprint it prints), in steps (e.g. 1,000,
 * 5,000, 10,000), bounded concurrency, retrying the relay's 503 (handshake rate limit).
 *
 * <p>At every step (and at 0 tunnels) it lets the tunnels idle, then reads from the relay process:
 * VmRSS ({@code /proc/<pid>/status}), its own {@code /metrics} (resident set, heap used, direct
 * buffers), then {@code jcmd <pid> GC.run} and the same again, plus the JVM's native memory
 * tracking summary. Meanwhile it checks the relay still serves: {@code /readyz}, a new agent
 * tunnel's handshake time, and 64 B echo round trips through a fresh client tunnel (ticket from
 * the control plane) to a probe agent tunnel whose streams this process echoes back.
 *
 * <p>Every process started is stopped on exit (SIGTERM, then SIGKILL of the process tree), also
 * on failure or Ctrl-C.
 */
public final class IdleTunnelsMain {

  private static final Pattern PROM = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})?\\s+(\\S+)");
  private static final Pattern NMT = Pattern.compile("-\\s+([A-Za-z][A-Za-z ]*?)\\s+\\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");
  private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");

  // options
  private Path jar = Path.of("cli/target/relaymesh.jar");
  private List<Integer> steps = List.of(1000, 5000, 10000);
  private int concurrency = 32;
  private Duration settle = Duration.ofSeconds(20);
  private List<String> relayJvm = List.of("-Xmx512m", "-XX:+ExitOnOutOfMemoryError");
  private boolean nmt = true;
  private int echoRounds = 200;
  private int warmup = 500;
  private int histogram = 25;
  private final Map<String, String> relayEnv = new LinkedHashMap<>();

  private static final String PROBE = "probe-1";
  private final List<Process> processes = new CopyOnWriteArrayList<>();
  private final List<ProcessHandle> descendants = new CopyOnWriteArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path work;
  private String controlUrl;
  private String session;
  private String relayUrl;
  private String adminUrl;
  private long relayPid;
  private Vertx vertx;
  private TunnelDialer dialer;
  private final ConcurrentLinkedQueue<DialedTunnel> tunnels = new ConcurrentLinkedQueue<>();
  private final List<String> agentTokens = new ArrayList<>();
  private int workspaceSeq;

  public static void main(String[] args) throws Exception {
    IdleTunnelsMain m = new IdleTunnelsMain();
    m.parse(args);
    Thread hook = new Thread(m::cleanup, "idle-tunnels-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    int rc = 0;
    try {
      m.run();
    } catch (Exception e) {
      System.err.println("FAILED: " + e);
      e.printStackTrace();
      rc = 1;
    } finally {
      m.cleanup();
    }
    System.exit(rc);
  }

  private void parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--jar" -> jar = Path.of(args[++i]);
        case "--steps" -> steps = Arrays.stream(args[++i].split(",")).map(String::trim)
            .map(Integer::parseInt).sorted().toList();
        case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
        case "--settle" -> settle = Duration.ofSeconds(Long.parseLong(args[++i]));
        case "--relay-jvm" -> relayJvm = args[++i].isBlank() ? List.of() : List.of(args[i].trim().split("\\s+"));
        case "--no-nmt" -> nmt = false;
        case "--echo-rounds" -> echoRounds = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--histogram" -> histogram = Integer.parseInt(args[++i]);
        case "--relay-env" -> {
          String[] kv = args[++i].split("=", 2);
          relayEnv.put(kv[0], kv[1]);
        }
        default -> {
          System.err.println("""
              usage: IdleTunnelsMain [--jar cli/target/relaymesh.jar] [--steps 1000,5000,10000]
                     [--concurrency 32] [--settle SECONDS] [--relay-jvm "-Xmx512m ..."] [--no-nmt]
                     [--echo-rounds 200] [--warmup 500] [--histogram 25] [--relay-env RELAYMESH_RELAY_X=value]...""");
          System.exit(a.equals("--help") ? 0 : 2);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private record Sample(int n, long tunnelsGauge, long vmRss, long promRss, long heap, long direct,
      long vmRssGc, long heapGc, long directGc, long heapCommittedGc, long nmtCommitted,
      Map<String, Long> nmtByCategory, double hsP50, double hsP99, double newHsMs, double echoP50,
      double echoP99, int echoErrors, String readyz, int dialFailures) {}

  private void run() throws Exception {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " not found: build it with "
          + "mvn -B -q -pl cli -am -DskipTests package");
    }
    work = Files.createTempDirectory("relaymesh-idle-");
    log("work dir " + work + "; host: " + Runtime.getRuntime().availableProcessors() + " cpus, "
        + "ulimit -n " + sh("sh", "-c", "ulimit -n").trim());
    startControlPlane();
    startRelay();
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(2));
    dialer = TunnelDialer.create(vertx, DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pinnedSha256(fingerprint))
        .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(30)));

    // the probe workspace: its agent tunnel echoes every stream the relay opens on it
    String probeToken = createWorkspaces(1, "probe").get(0);
    agentTokens.clear(); // the pool of idle tunnels' tokens does not include the probe's
    awaitF(dialer.dial(relayUrl + "/api/v1/tunnel/agent", Map.of("Authorization", "Bearer " + probeToken),
        s -> s.accept().onSuccess(st -> st.pipeTo(st)), null), Duration.ofSeconds(30));
    log("probe agent tunnel up");

    if (warmup > 0) {
      // the same code paths once before the baseline, so that JIT code, metaspace and pools grown
      // by the first tunnels are not counted per tunnel; the tokens are reused by the first step
      List<String> tokens = createWorkspaces(warmup, "idle");
      openTunnels(tokens, new ArrayList<>());
      log("warm-up: opened " + tokens.size() + " tunnels, closing them");
      closeTunnels();
      echo();
    }
    List<Sample> samples = new ArrayList<>();
    samples.add(measure(0, new double[] {Double.NaN, Double.NaN}, 0));
    int have = 0;
    for (int n : steps) {
      int want = n - have;
      long t0 = System.nanoTime();
      List<String> tokens = new ArrayList<>(agentTokens.subList(have, Math.min(agentTokens.size(), n)));
      if (tokens.size() < want) {
        tokens.addAll(createWorkspaces(want - tokens.size(), "idle"));
      }
      log(String.format(Locale.ROOT, "%d agent tokens ready in %.1f s", want, (System.nanoTime() - t0) / 1e9));
      t0 = System.nanoTime();
      Map<String, Long> cpu0 = cpuMillis();
      List<Double> hs = new ArrayList<>();
      int failures = openTunnels(tokens, hs);
      have = n;
      double secs = (System.nanoTime() - t0) / 1e9;
      Map<String, Long> cpu1 = cpuMillis();
      StringBuilder cpu = new StringBuilder();
      cpu1.forEach((k, v) -> cpu.append(String.format(Locale.ROOT, " %s %.1f s,", k, (v - cpu0.getOrDefault(k, 0L)) / 1e3)));
      log(String.format(Locale.ROOT, "opened %d agent tunnels (%d failed dials retried) in %.1f s = %.0f/s; CPU used:%s"
          + " load average %s", want, failures, secs, want / secs, cpu, Files.readString(Path.of("/proc/loadavg")).trim()));
      samples.add(measure(n, percentiles(hs), failures));
      printTable(samples);
    }
    log("closing " + tunnels.size() + " tunnels");
    closeTunnels();
    printTable(samples);
  }

  // ---- processes -------------------------------------------------------------------------------

  private String fingerprint;

  private void startControlPlane() throws Exception {
    int port = freePort();
    controlUrl = "http://127.0.0.1:" + port;
    String password = randomPassword();
    Process p = start("server", List.of("-Xmx512m"), List.of("server", "--no-builtin-relay",
        "--data-dir", work.resolve("server").toString(), "--listen", "127.0.0.1:" + port,
        "--create-admin", "bench", "--password-stdin"), Map.of());
    try (OutputStream in = p.getOutputStream()) {
      in.write((password + "\n").getBytes(StandardCharsets.UTF_8));
    }
    waitFor(() -> get(controlUrl + "/readyz").statusCode() == 200, Duration.ofSeconds(180), "control plane /readyz", p);
    JsonObject login = post("/api/v1/login", new JsonObject().put("username", "bench").put("password", password), 200);
    session = login.getString("token");
    log("control plane up at " + controlUrl + " (pid " + p.pid() + ")");
  }

  private void startRelay() throws Exception {
    String relayToken = post("/api/v1/relays", new JsonObject().put("region", "bench"), 201).getString("relayToken");
    int port = freePort();
    int admin = freePort();
    relayUrl = "https://127.0.0.1:" + port;
    adminUrl = "http://127.0.0.1:" + admin;
    List<String> jvm = new ArrayList<>(relayJvm);
    if (nmt) {
      jvm.add("-XX:NativeMemoryTracking=summary");
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("RELAYMESH_RELAY_TOKEN", relayToken); // not on the command line (ps)
    env.put("RELAYMESH_RELAY_TLS_STATE_DIR", work.resolve("relay-tls").toString());
    env.put("RELAYMESH_RELAY_DRAIN_TIMEOUT", "5s");
    env.putAll(relayEnv);
    Process p = start("relay", jvm, List.of("relay", "--control-url", controlUrl, "--region", "bench",
        "--replica-id", "bench-1", "--listen", "127.0.0.1:" + port, "--admin-listen", "127.0.0.1:" + admin,
        // every tunnel comes from 127.0.0.1: no per-address cap
        "--listener-max-connections-per-address", "0"), env);
    relayPid = p.pid();
    Path out = work.resolve("relay.out");
    waitFor(() -> Files.readString(out).contains("TLS sha256 "), Duration.ofSeconds(120), "relay start", p);
    Matcher m = Pattern.compile("TLS sha256 ([0-9a-fA-F:]+)").matcher(Files.readString(out));
    if (!m.find()) {
      throw new IllegalStateException("no TLS fingerprint in " + out);
    }
    fingerprint = m.group(1);
    waitFor(() -> get(adminUrl + "/readyz").statusCode() == 200, Duration.ofSeconds(60), "relay /readyz", p);
    log("relay up at " + relayUrl + " (pid " + relayPid + ", JVM " + String.join(" ", jvm) + ")");
  }

  private Process start(String name, List<String> jvm, List<String> args, Map<String, String> env) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(jvm);
    cmd.add("-jar");
    cmd.add(jar.toAbsolutePath().toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectOutput(work.resolve(name + ".out").toFile())
        .redirectError(work.resolve(name + ".err").toFile());
    pb.environment().put("HOME", work.resolve("home-" + name).toString());
    pb.environment().putAll(env);
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private synchronized void cleanup() {
    if (vertx != null) {
      try {
        closeTunnels();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // stopping anyway
      }
      vertx = null;
    }
    List<Process> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed); // relay first, then the control plane (and its PostgreSQL)
    for (Process p : reversed) {
      if (!p.isAlive()) {
        continue;
      }
      p.descendants().forEach(descendants::add);
      p.destroy(); // SIGTERM: relay drains, server stops its embedded PostgreSQL
      try {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
      }
    }
    for (ProcessHandle h : descendants) {
      if (h.isAlive()) {
        h.descendants().forEach(ProcessHandle::destroyForcibly);
        h.destroyForcibly();
      }
    }
    processes.clear();
    descendants.clear();
    if (work != null && !Boolean.getBoolean("bench.keepWorkDir")) {
      try (var walk = Files.walk(work)) {
        walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        // best effort
      }
      work = null;
    }
  }

  // ---- control plane API -----------------------------------------------------------------------

  private List<String> createWorkspaces(int count, String prefix) throws Exception {
    List<CompletableFuture<String>> all = new ArrayList<>();
    Semaphore permits = new Semaphore(8);
    for (int i = 0; i < count; i++) {
      String name = prefix + "-" + (++workspaceSeq);
      permits.acquire();
      HttpRequest req = HttpRequest.newBuilder(URI.create(controlUrl + "/api/v1/workspaces"))
          .timeout(Duration.ofSeconds(60))
          .header("Authorization", "Bearer " + session).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("name", name).encode())).build();
      all.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> permits.release())
          .thenApply(r -> {
            if (r.statusCode() != 201) {
              throw new IllegalStateException("POST /api/v1/workspaces " + name + ": HTTP " + r.statusCode());
            }
            return new JsonObject(r.body()).getString("agentToken");
          }));
    }
    List<String> tokens = new ArrayList<>();
    for (CompletableFuture<String> f : all) {
      tokens.add(f.get(120, TimeUnit.SECONDS));
    }
    agentTokens.addAll(tokens);
    return tokens;
  }

  private JsonObject post(String path, JsonObject body, int expect) throws Exception {
    return ControlHttp.post(http, controlUrl, session, path, body, expect);
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  // ---- tunnels ---------------------------------------------------------------------------------

  /** Opens one idle agent tunnel per token; returns how many dials failed (and were retried). */
  private int openTunnels(List<String> tokens, List<Double> handshakeMs) throws Exception {
    Semaphore permits = new Semaphore(concurrency);
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger lost = new AtomicInteger();
    List<Double> times = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (String token : tokens) {
      permits.acquire();
      CompletableFuture<Void> done = new CompletableFuture<>();
      all.add(done);
      dialWithRetry(token, 0, failures, times).onComplete(ar -> {
        permits.release();
        if (ar.succeeded()) {
          tunnels.add(ar.result());
        } else {
          lost.incrementAndGet();
          System.err.println("tunnel lost: " + ar.cause().getMessage());
        }
        done.complete(null);
      });
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.MINUTES);
    handshakeMs.addAll(times);
    if (lost.get() > 0) {
      log(lost.get() + " tunnels could not be opened after retries");
    }
    return failures.get();
  }

  private Future<DialedTunnel> dialWithRetry(String token, int attempt, AtomicInteger failures, List<Double> times) {
    long t0 = System.nanoTime();
    return dialer.dial(relayUrl + "/api/v1/tunnel/agent", Map.of("Authorization", "Bearer " + token),
            s -> s.reject(ErrorCode.REFUSED, "idle bench tunnel"), null)
        .map(t -> {
          times.add((System.nanoTime() - t0) / 1e6);
          return t;
        })
        .recover(e -> {
          failures.incrementAndGet();
          if (attempt >= 20) {
            return Future.failedFuture(e);
          }
          if (failures.get() <= 5 || failures.get() % 500 == 0) {
            System.err.println("dial failed (retrying): " + e.getMessage());
          }
          Promise<DialedTunnel> p = Promise.promise();
          vertx.setTimer(200L * (attempt + 1), id -> dialWithRetry(token, attempt + 1, failures, times).onComplete(p));
          return p.future();
        });
  }

  private void closeTunnels() {
    List<Future<Void>> closes = new ArrayList<>();
    DialedTunnel t;
    while ((t = tunnels.poll()) != null) {
      closes.add(t.session().close(ErrorCode.NO_ERROR, "bench done"));
    }
    try {
      Future.join(closes).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // exiting anyway
    }
  }

  /** Handshake time of one new agent tunnel (kept open, counted from now on). */
  private double newTunnelHandshake() throws Exception {
    String token = createWorkspaces(1, "late").get(0);
    agentTokens.remove(agentTokens.size() - 1);
    long t0 = System.nanoTime();
    DialedTunnel t = awaitF(dialer.dial(relayUrl + "/api/v1/tunnel/agent", Map.of("Authorization", "Bearer " + token),
        s -> s.reject(ErrorCode.REFUSED, "idle bench tunnel"), null), Duration.ofSeconds(60));
    double ms = (System.nanoTime() - t0) / 1e6;
    t.session().close(ErrorCode.NO_ERROR, "probe done");
    return ms;
  }

  /** 64 B echo round trips through a fresh client tunnel to the probe agent: p50, p99 (us), errors. */
  private double[] echo() throws Exception {
    JsonObject ticket = post("/api/v1/tickets", new JsonObject().put("workspace", PROBE).put("port", 7), 201);
    DialedTunnel client = awaitF(dialer.dial(relayUrl + "/api/v1/tunnel/client",
        Map.of("Authorization", "Bearer " + ticket.getString("ticket"))), Duration.ofSeconds(60));
    try {
      Promise<Stream> opened = Promise.promise();
      client.session().context().runOnContext(v ->
          client.session().open(WireSpec.KIND_TCP, "127.0.0.1:7", null).onComplete(opened));
      Stream stream = awaitF(opened.future(), Duration.ofSeconds(30));
      Buffer payload = Buffer.buffer(new byte[64]);
      long[] rtt = new long[echoRounds];
      Promise<Void> done = Promise.promise();
      int[] state = new int[2]; // round, bytes received in this round
      long[] start = new long[1];
      client.session().context().runOnContext(v -> {
        stream.handler(b -> {
          state[1] += b.length();
          if (state[1] >= 64) {
            rtt[state[0]] = System.nanoTime() - start[0];
            state[0]++;
            state[1] -= 64;
            if (state[0] == echoRounds) {
              done.tryComplete();
            } else {
              start[0] = System.nanoTime();
              stream.write(payload.copy());
            }
          }
        });
        stream.exceptionHandler(done::tryFail);
        start[0] = System.nanoTime();
        stream.write(payload.copy());
      });
      awaitF(done.future(), Duration.ofSeconds(60));
      client.session().context().runOnContext(v -> stream.end());
      double[] us = Arrays.stream(rtt).mapToDouble(x -> x / 1e3).sorted().toArray();
      return new double[] {pct(us, 50), pct(us, 99), 0};
    } catch (Exception e) {
      System.err.println("echo through the relay failed: " + e);
      return new double[] {Double.NaN, Double.NaN, 1};
    } finally {
      client.session().close(ErrorCode.NO_ERROR, "echo done");
    }
  }

  // ---- measurement -----------------------------------------------------------------------------

  private Sample measure(int n, double[] hs, int failures) throws Exception {
    log("step " + n + ": letting the tunnels idle for " + settle.toSeconds() + " s");
    Thread.sleep(settle.toMillis());
    String readyz = get(adminUrl + "/readyz").statusCode() + "";
    double newHs = newTunnelHandshake();
    double[] echo = echo();
    Thread.sleep(2000);
    long rss = vmRss();
    Map<String, Double> m = metrics();
    long promRss = m.getOrDefault("process_resident_memory_bytes", -1.0).longValue();
    long heap = sum(m, "jvm_memory_used_bytes", "area=\"heap\"");
    long direct = sum(m, "jvm_buffer_memory_used_bytes", "id=\"direct\"");
    long gauge = m.getOrDefault("relaymesh_relay_agent_tunnels", -1.0).longValue();
    sh("jcmd", Long.toString(relayPid), "GC.run");
    Thread.sleep(3000);
    long rssGc = vmRss();
    Map<String, Double> g = metrics();
    long heapGc = sum(g, "jvm_memory_used_bytes", "area=\"heap\"");
    long directGc = sum(g, "jvm_buffer_memory_used_bytes", "id=\"direct\"");
    long heapCommitted = sum(g, "jvm_memory_committed_bytes", "area=\"heap\"");
    long nmtTotal = -1;
    Map<String, Long> cats = new LinkedHashMap<>();
    if (nmt) {
      cats = parseNmt(sh("jcmd", Long.toString(relayPid), "VM.native_memory", "summary"));
      nmtTotal = cats.getOrDefault("Total", -1L);
      cats.remove("Total");
    }
    if (histogram > 0 && n == steps.get(steps.size() - 1)) {
      // what the live heap holds at the largest step: classes with about N or 2N instances are per tunnel
      String h = sh("jcmd", Long.toString(relayPid), "GC.class_histogram");
      System.out.println("\nRelay heap histogram at " + n + " tunnels (jcmd GC.class_histogram, top " + histogram + "):");
      h.lines().skip(1).limit(histogram + 2L).forEach(System.out::println);
    }
    Sample sample = new Sample(n, gauge, rss, promRss, heap, direct, rssGc, heapGc, directGc, heapCommitted,
        nmtTotal, cats, hs[0], hs[1], newHs, echo[0], echo[1], (int) echo[2], readyz, failures);
    log(sample.toString());
    return sample;
  }

  private Map<String, Long> cpuMillis() {
    Map<String, Long> m = new LinkedHashMap<>();
    String[] names = {"control plane", "relay"};
    for (int i = 0; i < processes.size() && i < names.length; i++) {
      ProcessHandle h = processes.get(i).toHandle();
      long ms = h.info().totalCpuDuration().map(Duration::toMillis).orElse(0L)
          + h.descendants().mapToLong(d -> d.info().totalCpuDuration().map(Duration::toMillis).orElse(0L)).sum();
      m.put(names[i] + (i == 0 ? " (+PostgreSQL)" : ""), ms);
    }
    m.put("bench", ProcessHandle.current().info().totalCpuDuration().map(Duration::toMillis).orElse(-1L));
    return m;
  }

  private long vmRss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + relayPid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }

  private Map<String, Double> metrics() throws Exception {
    return parsePrometheus(get(adminUrl + "/metrics").body());
  }

  /** Prometheus text format -> {@code name{labels}} -> value (comments skipped). */
  static Map<String, Double> parsePrometheus(String body) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("#")) {
        continue;
      }
      Matcher m = PROM.matcher(line);
      if (m.find()) {
        out.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
      }
    }
    return out;
  }

  /**
   * {@code jcmd <pid> VM.native_memory summary} -> committed bytes by category, plus
   * {@code "Total"}.
   */
  static Map<String, Long> parseNmt(String summary) {
    Map<String, Long> out = new LinkedHashMap<>();
    Matcher t = NMT_TOTAL.matcher(summary);
    if (t.find()) {
      out.put("Total", Long.parseLong(t.group(2)) * 1024);
    }
    Matcher c = NMT.matcher(summary);
    while (c.find()) {
      out.put(c.group(1).trim(), Long.parseLong(c.group(3)) * 1024);
    }
    return out;
  }

  static long sum(Map<String, Double> m, String name, String label) {
    double s = 0;
    boolean any = false;
    for (Map.Entry<String, Double> e : m.entrySet()) {
      if (e.getKey().startsWith(name + "{") && e.getKey().contains(label)) {
        s += e.getValue();
        any = true;
      }
    }
    return any ? (long) s : -1;
  }

  private void printTable(List<Sample> samples) {
    Sample z = samples.get(0);
    StringBuilder b = new StringBuilder();
    b.append("\nRelay process memory vs idle agent tunnels (relay JVM: ")
        .append(String.join(" ", relayJvm)).append(nmt ? " -XX:NativeMemoryTracking=summary" : "").append(relayEnv.isEmpty() ? "" : "; env " + relayEnv)
        .append(")\n");
    b.append("| tunnels (gauge) | VmRSS MiB | heap used MiB | direct MiB | VmRSS after GC MiB | heap after GC MiB "
        + "| heap committed MiB | NMT committed MiB | handshake p50/p99 ms (ramp) | new tunnel ms | echo 64 B p50/p99 us | /readyz |\n");
    b.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Sample s : samples) {
      b.append(String.format(Locale.ROOT,
          "| %,d (%d) | %.1f | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %s | %.0f | %s | %s |%n",
          s.n, s.tunnelsGauge, mib(s.vmRss), mib(s.heap), mib(s.direct), mib(s.vmRssGc), mib(s.heapGc),
          mib(s.heapCommittedGc), mib(s.nmtCommitted),
          Double.isNaN(s.hsP50) ? "-" : String.format(Locale.ROOT, "%.0f / %.0f", s.hsP50, s.hsP99), s.newHsMs,
          s.echoErrors > 0 ? "FAILED" : String.format(Locale.ROOT, "%.0f / %.0f", s.echoP50, s.echoP99), s.readyz));
    }
    b.append("\nPer idle tunnel = (value at N - value at 0) / N, in kB (1 kB = 1,000 bytes; target <= 40 kB)\n");
    b.append("| N | VmRSS | VmRSS after GC | heap before GC | heap after GC (live) | direct | NMT committed "
        + "| ratio to 40 kB (VmRSS after GC) |\n");
    b.append("|---|---|---|---|---|---|---|---|\n");
    for (Sample s : samples.subList(1, samples.size())) {
      double rssGc = perKb(s.vmRssGc, z.vmRssGc, s.n);
      b.append(String.format(Locale.ROOT, "| %,d | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f | %.2fx |%n",
          s.n, perKb(s.vmRss, z.vmRss, s.n), rssGc, perKb(s.heap, z.heap, s.n), perKb(s.heapGc, z.heapGc, s.n),
          perKb(s.directGc, z.directGc, s.n), perKb(s.nmtCommitted, z.nmtCommitted, s.n), rssGc / 40));
    }
    if (nmt && samples.size() > 1) {
      Sample last = samples.get(samples.size() - 1);
      b.append("\nNative memory tracking, committed, per tunnel at N = ").append(last.n).append(" (kB): ");
      List<String> parts = new ArrayList<>();
      for (Map.Entry<String, Long> e : last.nmtByCategory.entrySet()) {
        Long zero = z.nmtByCategory.getOrDefault(e.getKey(), 0L);
        double per = (e.getValue() - zero) / 1e3 / last.n;
        if (Math.abs(per) >= 0.05) {
          parts.add(String.format(Locale.ROOT, "%s %.1f", e.getKey(), per));
        }
      }
      b.append(String.join(", ", parts)).append('\n');
    }
    System.out.println(b);
    System.out.flush();
  }

  // ---- helpers ---------------------------------------------------------------------------------

  static double perKb(long v, long zero, int n) {
    return v < 0 || zero < 0 ? Double.NaN : (v - zero) / 1e3 / n;
  }

  private static double mib(long v) {
    return v < 0 ? Double.NaN : v / 1048576.0;
  }

  private static double[] percentiles(List<Double> ms) {
    double[] a = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a.length == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {pct(a, 50), pct(a, 99)};
  }

  private static double pct(double[] sorted, double p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static <T> T awaitF(Future<T> f, Duration timeout) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private void waitFor(Check check, Duration timeout, String what, Process p) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException(what + ": process exited " + p.exitValue() + "; see its log in " + work);
      }
      try {
        if (check.ok()) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(what + ": not ready within " + timeout.toSeconds() + " s"
        + (last != null ? " (" + last + ")" : ""));
  }

  private static String sh(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", cmd) + ": timed out");
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String randomPassword() {
    byte[] b = new byte[18];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static void log(String s) {
    System.err.println(java.time.LocalTime.now().withNano(0) + " " + s);
  }
}
