package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Loopback load tool: runs each workload over each transport in one process, one after the
 * other, and prints a table with every figure as a ratio to the first (baseline) transport.
 *
 * <pre>java -cp bench/target/relaymesh-benchmarks.jar io.relaymesh.bench.load.LoadMain [--quick]</pre>
 */
public final class LoadMain {

  /** A transport under test: its name and how to start its echo dialer. */
  public record Transport(String name, Function<Vertx, Future<? extends Duplex.Dialer>> start) {}

  private LoadMain() {}

  public static void main(String[] args) throws Exception {
    boolean quick = List.of(args).contains("--quick");
    List<Transport> transports = new ArrayList<>();
    transports.add(new Transport("tcp", TcpDialer::start));
    transports.addAll(Transports.extra());
    long bulkBytes = quick ? 64L << 20 : 512L << 20;
    int rr = quick ? 5_000 : 50_000;
    int fan = 1_000;
    int perStream = quick ? 16 << 10 : 64 << 10;

    Map<String, Map<String, Double>> rows = new LinkedHashMap<>();
    Vertx vertx = Vertx.vertx();
    try {
      for (Transport t : transports) {
        Duplex.Dialer dialer = await(t.start().apply(vertx).map(d -> (Duplex.Dialer) d));
        try {
          await(Workloads.bulk(dialer, bulkBytes / 4, 16 << 10)); // warm-up
          Workloads.Bulk bulk = await(Workloads.bulk(dialer, bulkBytes, 64 << 10));
          put(rows, "bulk one stream, echo MB/s (higher is better)", t.name(), bulk.megabytesPerSecond());
          Workloads.RoundTrips r = await(Workloads.roundTrips(dialer, rr / 5, rr, 64));
          put(rows, "64 B round trips/s (higher is better)", t.name(), r.perSecond());
          put(rows, "64 B round trip p50 us (lower is better)", t.name(), r.percentileNanos(50) / 1e3);
          put(rows, "64 B round trip p99 us (lower is better)", t.name(), r.percentileNanos(99) / 1e3);
          Workloads.Bulk f = await(Workloads.fanOut(dialer, fan, perStream, 16 << 10));
          put(rows, fan + " streams x " + (perStream >> 10) + " KiB echo, aggregate MB/s (higher is better)",
              t.name(), f.megabytesPerSecond());
        } finally {
          await(dialer.shutdown());
        }
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    print(rows, transports);
  }

  private static void put(Map<String, Map<String, Double>> rows, String row, String col, double v) {
    rows.computeIfAbsent(row, k -> new LinkedHashMap<>()).put(col, v);
  }

  private static void print(Map<String, Map<String, Double>> rows, List<Transport> transports) {
    StringBuilder h = new StringBuilder("| workload |");
    StringBuilder sep = new StringBuilder("|---|");
    for (Transport t : transports) {
      h.append(' ').append(t.name()).append(" |");
      sep.append("---|");
    }
    System.out.println(h);
    System.out.println(sep);
    String base = transports.get(0).name();
    rows.forEach((row, cols) -> {
      StringBuilder line = new StringBuilder("| ").append(row).append(" |");
      double b = cols.getOrDefault(base, Double.NaN);
      for (Transport t : transports) {
        double v = cols.getOrDefault(t.name(), Double.NaN);
        line.append(String.format(Locale.ROOT, " %,.1f", v));
        if (!t.name().equals(base)) {
          line.append(String.format(Locale.ROOT, " (%.2fx)", v / b));
        }
        line.append(" |");
      }
      System.out.println(line);
    });
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
  }
}
