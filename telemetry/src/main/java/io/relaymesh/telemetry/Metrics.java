package io.relaymesh.telemetry;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.micrometer.core.instrument.Gauge;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One process's metrics: a Prometheus registry with the JVM and process meters bound, served at
 * {@code GET /metrics}. Names follow {@code relaymesh_<component>_<thing>_<unit>}; every name is
 * listed in {@code docs/metrics.md} (checked by {@link MetricsDoc}).
 */
public final class Metrics implements Closeable {

  /** The Prometheus text exposition format. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final Path STATM = Path.of("/proc/self/statm");
  private static final long PAGE_SIZE = 4096;

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gc;

  private Metrics(PrometheusMeterRegistry registry, JvmGcMetrics gc) {
    this.registry = registry;
    this.gc = gc;
  }

  /** A registry with the JVM (memory incl. direct buffers, GC, threads, classes) and process meters. */
  public static Metrics create() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    if (Files.isReadable(STATM)) {
      Gauge.builder("process_resident_memory_bytes", Metrics::residentBytes)
          .description("resident set size of the process (Linux /proc/self/statm)")
          .baseUnit("bytes").register(registry);
    }
    return new Metrics(registry, gc);
  }

  /** Resident set size from {@code /proc/self/statm} (pages times 4 KiB), NaN when unreadable. */
  static double residentBytes() {
    try {
      String[] f = Files.readString(STATM).trim().split("\\s+");
      return Long.parseLong(f[1]) * PAGE_SIZE;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** The registry components register their meters with. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The current exposition text. */
  public String scrape() {
    return registry.scrape();
  }

  /** Answers {@code GET|HEAD /metrics} with the exposition text (405 for other methods). */
  public void handle(HttpServerRequest req) {
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      req.response().setStatusCode(405).putHeader("Allow", "GET, HEAD")
          .putHeader("Content-Type", "text/plain; charset=utf-8")
          .end(req.method() + " is not allowed on /metrics\n");
      return;
    }
    req.response().putHeader("Content-Type", CONTENT_TYPE).putHeader("Cache-Control", "no-store")
        .end(scrape());
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
