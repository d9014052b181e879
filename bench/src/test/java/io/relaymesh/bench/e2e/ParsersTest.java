package io.relaymesh.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** wrk's report, percentiles, medians and the relay's Prometheus text, as the suite reads them. */
class ParsersTest {

  static final String WRK = """
      Running 10s test @ https://127.0.0.1:40075/1k
        2 threads and 50 connections
        Thread Stats   Avg      Stdev     Max   +/- Stdev
          Latency     1.52ms    2.10ms  48.37ms   93.12%
          Req/Sec    17.71k     1.92k   21.36k    69.50%
        352410 requests in 10.00s, 438.02MB read
        Socket errors: connect 0, read 2, write 0, timeout 5
        Non-2xx or 3xx responses: 17
      Requests/sec:  35238.18
      Transfer/sec:     43.80MB
      """;

  @Test
  void wrkReportIsReadWithItsErrors() {
    Wrk w = Wrk.parse(WRK);
    assertThat(w.requestsPerSec()).isEqualTo(35238.18);
    assertThat(w.requests()).isEqualTo(352410);
    assertThat(w.non2xx()).isEqualTo(17);
    assertThat(w.socketErrors()).isEqualTo(2);
    assertThat(w.timeouts()).isEqualTo(5);
    assertThat(w.latencyAvgMs()).isCloseTo(1.52, within(1e-9));
    assertThat(w.clean()).isFalse();
  }

  @Test
  void aCleanWrkReportAndLatencyUnits() {
    Wrk w = Wrk.parse("""
          Latency   812.00us  100.00us   2.00ms   90.00%
        1000 requests in 2.00s, 1.2MB read
      Requests/sec:    500.00
      """);
    assertThat(w.clean()).isTrue();
    assertThat(w.latencyAvgMs()).isCloseTo(0.812, within(1e-9));
    assertThat(Wrk.parse("Latency 1.50s 0 0 0%\n1 requests in 2s\nRequests/sec: 0.50\n").latencyAvgMs())
        .isCloseTo(1500, within(1e-9));
    assertThat(Wrk.parse("0 requests in 2.00s\nRequests/sec: 0.00\n").clean()).as("nothing answered").isFalse();
    assertThat(Wrk.parse("9 requests in 2s\nSocket errors: connect 0, read 0, write 0, timeout 3\nRequests/sec: 4.5\n")
        .clean()).as("slow answers are not wrong answers").isTrue();
    assertThatThrownBy(() -> Wrk.parse("unable to connect to 127.0.0.1:1 Connection refused"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void percentilesAreNearestRank() {
    double[] v = new double[100];
    for (int i = 0; i < 100; i++) {
      v[i] = 100 - i; // 100..1, unsorted order
    }
    assertThat(Stats.percentile(v, 50)).isEqualTo(50);
    assertThat(Stats.percentile(v, 99)).isEqualTo(99);
    assertThat(Stats.percentile(v, 100)).isEqualTo(100);
    assertThat(Stats.percentile(new double[] {7}, 99)).isEqualTo(7);
    assertThat(Stats.percentile(new double[0], 50)).isNaN();
    assertThat(v[0]).as("input not sorted in place").isEqualTo(100);
    assertThat(Stats.percentileUs(new long[] {3_000, 1_000, 2_000}, 50)).isEqualTo(2.0);
    assertThat(Stats.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
    assertThat(Stats.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
    assertThat(Stats.median(List.of(1.0, Double.NaN, 2.0))).isNaN();
  }

  @Test
  void relayMetricsAreSummedOverTheSeriesOfOneNameOnly() {
    String scrape = """
        # HELP relaymesh_relay_tunnel_rtt_seconds_count x
        # TYPE relaymesh_relay_tunnel_rtt_seconds summary
        relaymesh_relay_tunnel_rtt_seconds_count{peer="agent"} 4.0
        relaymesh_relay_tunnel_rtt_seconds_count{peer="relay"} 2.0
        relaymesh_relay_tunnel_rtt_seconds_sum{peer="agent"} 0.002
        relaymesh_relay_tunnel_rtt_seconds_max{peer="agent"} NaN
        relaymesh_relay_agent_tunnels 1.0
        relaymesh_relay_agent_tunnels_opened_total 9.0
        """;
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_count", "")).isEqualTo(6.0);
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_count", "peer=\"agent\""))
        .isEqualTo(4.0);
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_sum", "")).isEqualTo(0.002);
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_max", "")).isZero();
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_agent_tunnels", "")).isEqualTo(1.0);
    assertThat(RelaymeshStack.sumSeries(scrape, "relaymesh_relay_missing", "")).isZero();
  }
}
