package io.relaymesh.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {

  @Test
  void jvmAndProcessMetricsAreExposedAndDocumented() {
    try (Metrics m = Metrics.create()) {
      String scrape = m.scrape();
      assertThat(MetricsDoc.exposed(scrape)).contains("jvm_memory_used_bytes",
          "jvm_buffer_memory_used_bytes", "process_cpu_usage", "process_files_open_files",
          "jvm_threads_live_threads");
      assertThat(MetricsDoc.load().undocumented(scrape)).isEmpty();
    }
  }

  @Test
  void anUndocumentedMetricIsReported() {
    try (Metrics m = Metrics.create()) {
      Counter.builder("relaymesh_test_surprises").register(m.registry()).increment();
      Timer.builder("relaymesh_test_wait_seconds").publishPercentileHistogram()
          .register(m.registry()).record(Duration.ofMillis(3));
      List<String> missing = MetricsDoc.load().undocumented(m.scrape());
      assertThat(missing).containsExactly("relaymesh_test_surprises_total",
          "relaymesh_test_wait_seconds", "relaymesh_test_wait_seconds_max");
    }
  }

  @Test
  void histogramBaseNameCoversItsMaxGauge() {
    MetricsDoc doc = MetricsDoc.parse(List.of("## Relay", "| Name | Type | Labels | Meaning |",
        "|---|---|---|---|", "| `relaymesh_x_seconds` | histogram | | x |"));
    assertThat(doc.undocumented("# TYPE relaymesh_x_seconds histogram\n"
        + "# TYPE relaymesh_x_seconds_max gauge\n")).isEmpty();
    assertThat(doc.entries().get("relaymesh_x_seconds").section()).isEqualTo("Relay");
  }
}
