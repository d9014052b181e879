package io.relaymesh.bench.load;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Loopback load tool: runs every workload over every transport in one process and prints
 * markdown tables: the median over {@code --runs} rounds (transports interleaved within each
 * round, so drift from the noisy machine hits all of them alike), the min..max spread, and
 * ratios against the baseline measured in the same rounds.
 *
 * <pre>
 * java -cp bench/target/relaymesh-benchmarks.jar io.relaymesh.bench.load.LoadMain \
 *     [--quick] [--runs N] [--tls-engine openssl|jdk] [--only tcp,tunnel-tls]
 * </pre>
 *
 * <p>Client and server side run in two separate Vert.x instances, one event loop each (native
 * epoll when available), in this one JVM.
 */
public final class LoadMain {

  /** A transport under test: its name and how to start its echo dialer. */
  public record Transport(String name, Function<Env, Future<? extends Duplex.Dialer>> start) {}

  private LoadMain() {}

  public static void main(String[] args) throws Exception {
    List<String> a = List.of(args);
    boolean quick = a.contains("--quick");
    int runs = Integer.parseInt(opt(a, "--runs", "1"));
    String engine = opt(a, "--tls-engine", "openssl");
    String only = opt(a, "--only", "");
    List<Transport> transports = new ArrayList<>();
    if (only.isEmpty()) {
      transports.addAll(Transports.all());
    } else {
      List<Transport> known = new ArrayList<>(Transports.all());
      known.addAll(Transports.experiments());
      for (String name : only.split(",")) { // in the order given; the first is the baseline
        Transport t = known.stream().filter(k -> k.name().equals(name)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("--only: unknown transport " + name));
        transports.add(t);
      }
    }
    long bulkBytes = quick ? 64L << 20 : 256L << 20;
    int rr = quick ? 5_000 : 20_000;
    int fan = 1_000;
    int hol = quick ? 200 : 500; // round trips behind a bulk stream can take ms each
    int perStream = quick ? 16 << 10 : 64 << 10;

    VertxOptions vo = new VertxOptions().setEventLoopPoolSize(1)
        .setBlockedThreadCheckInterval(60_000);
    Vertx server = io.relaymesh.proxy.Transports.create(vo);
    Vertx client = io.relaymesh.proxy.Transports.create(vo);
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    Env env = new Env(client, server, cert, Env.engine(engine));
    Context ctx = client.getOrCreateContext();
    System.out.printf(Locale.ROOT, "# transport: %s; TLS engine: %s; JDK %s; %d cores; runs: %d%s%n",
        io.relaymesh.proxy.Transports.name(client), env.tlsEngineName(),
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), runs,
        quick ? " (quick)" : "");
    Map<String, Map<String, List<Double>>> rows = new LinkedHashMap<>();
    try {
      for (int run = 1; run <= runs; run++) {
        for (Transport t : transports) {
          System.err.printf("run %d/%d: %s%n", run, runs, t.name());
          Duplex.Dialer dialer = await(on(ctx, () -> t.start().apply(env).map(d -> (Duplex.Dialer) d)));
          try {
            // warm-up (JIT, windows, TLS sessions): unmeasured
            await(on(ctx, () -> Workloads.bulk(dialer, bulkBytes / 4, 16 << 10)));
            await(on(ctx, () -> Workloads.roundTrips(dialer, 0, rr / 5, 64)));
            await(on(ctx, () -> Workloads.fanOut(dialer, 100, perStream, 16 << 10)));

            Workloads.Bulk bulk = await(on(ctx, () -> Workloads.bulk(dialer, bulkBytes, 64 << 10)));
            put(rows, "bulk, one stream, echo MB/s (each direction) ↑", t.name(), bulk.megabytesPerSecond());
            Workloads.RoundTrips r = await(on(ctx, () -> Workloads.roundTrips(dialer, rr / 10, rr, 64)));
            put(rows, "64 B request/response, round trips/s ↑", t.name(), r.perSecond());
            put(rows, "64 B round trip p50 µs ↓", t.name(), r.percentileNanos(50) / 1e3);
            put(rows, "64 B round trip p99 µs ↓", t.name(), r.percentileNanos(99) / 1e3);
            Workloads.FanOut f = await(on(ctx, () -> Workloads.fanOut(dialer, fan, perStream, 16 << 10)));
            put(rows, fan + " streams: open all, ms ↓", t.name(), f.openNanos() / 1e6);
            put(rows, fan + " streams × " + (perStream >> 10) + " KiB echo, aggregate MB/s ↑",
                t.name(), f.transfer().megabytesPerSecond());
            Workloads.UnderLoad u = await(on(ctx,
                () -> Workloads.roundTripsUnderLoad(dialer, hol / 10, hol, 64, bulkBytes / 8)));
            put(rows, "64 B round trip p50 µs, bulk stream alongside ↓", t.name(),
                u.roundTrips().percentileNanos(50) / 1e3);
            put(rows, "64 B round trip p99 µs, bulk stream alongside ↓", t.name(),
                u.roundTrips().percentileNanos(99) / 1e3);
            put(rows, "bulk stream MB/s during those round trips ↑", t.name(),
                u.bulk().megabytesPerSecond());
          } finally {
            await(on(ctx, dialer::shutdown));
          }
        }
      }
    } finally {
      client.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      server.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      cert.delete();
    }
    print(rows, transports, runs);
  }

  private static String opt(List<String> args, String name, String dflt) {
    int i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : dflt;
  }

  private static void put(Map<String, Map<String, List<Double>>> rows, String row, String col, double v) {
    rows.computeIfAbsent(row, k -> new LinkedHashMap<>())
        .computeIfAbsent(col, k -> new ArrayList<>()).add(v);
  }

  static double median(List<Double> v) {
    if (v == null || v.isEmpty()) {
      return Double.NaN;
    }
    double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static void print(Map<String, Map<String, List<Double>>> rows, List<Transport> transports,
      int runs) {
    String base = transports.get(0).name();
    System.out.println();
    System.out.println("Median of " + runs + " run(s); (x) = ratio to " + base + " in the same run(s)");
    System.out.println();
    StringBuilder h = new StringBuilder("| workload |");
    StringBuilder sep = new StringBuilder("|---|");
    for (Transport t : transports) {
      h.append(' ').append(t.name()).append(" |");
      sep.append("---:|");
    }
    System.out.println(h);
    System.out.println(sep);
    rows.forEach((row, cols) -> {
      StringBuilder line = new StringBuilder("| ").append(row).append(" |");
      double b = median(cols.get(base));
      for (Transport t : transports) {
        double v = median(cols.get(t.name()));
        line.append(String.format(Locale.ROOT, " %,.1f", v));
        if (!t.name().equals(base)) {
          line.append(String.format(Locale.ROOT, " (%.2fx)", v / b));
        }
        line.append(" |");
      }
      System.out.println(line);
    });
    if (runs > 1) {
      System.out.println();
      System.out.println("Spread (min..max over the runs)");
      System.out.println();
      System.out.println(h);
      System.out.println(sep);
      rows.forEach((row, cols) -> {
        StringBuilder line = new StringBuilder("| ").append(row).append(" |");
        for (Transport t : transports) {
          List<Double> v = cols.getOrDefault(t.name(), List.of());
          double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
          line.append(s.length == 0 ? " - |"
              : String.format(Locale.ROOT, " %,.1f..%,.1f |", s[0], s[s.length - 1]));
        }
        System.out.println(line);
      });
    }
    List<String[]> pairs = new ArrayList<>();
    List<String> names = transports.stream().map(Transport::name).toList();
    for (String[] p : Transports.comparisons()) {
      if (names.contains(p[0]) && names.contains(p[1])) {
        pairs.add(p);
      }
    }
    if (pairs.isEmpty()) {
      return;
    }
    System.out.println();
    System.out.println("Ratios of medians (>1 = more of the figure: better for ↑ rows, worse for ↓ rows)");
    System.out.println();
    StringBuilder ph = new StringBuilder("| workload |");
    StringBuilder ps = new StringBuilder("|---|");
    for (String[] p : pairs) {
      ph.append(' ').append(p[0]).append(" / ").append(p[1]).append(" |");
      ps.append("---:|");
    }
    System.out.println(ph);
    System.out.println(ps);
    rows.forEach((row, cols) -> {
      StringBuilder line = new StringBuilder("| ").append(row).append(" |");
      for (String[] p : pairs) {
        line.append(String.format(Locale.ROOT, " %.3g |",
            median(cols.get(p[0])) / median(cols.get(p[1]))));
      }
      System.out.println(line);
    });
  }

  /** Runs {@code action} on {@code ctx} and returns its future. */
  static <T> Future<T> on(Context ctx, Supplier<Future<T>> action) {
    Promise<T> p = Promise.promise();
    ctx.runOnContext(v -> {
      try {
        action.get().onComplete(p);
      } catch (Throwable t) {
        p.fail(t);
      }
    });
    return p.future();
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
  }
}
