package io.relaymesh.bench.soak;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.bench.soak.Trend.Outcome;
import io.relaymesh.bench.soak.Trend.Sample;
import io.relaymesh.bench.soak.Trend.Tolerance;
import io.relaymesh.bench.soak.Trend.Verdict;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TrendTest {

  static final double MIB = 1 << 20;
  static final Tolerance HEAP = SoakMain.TOLERANCES.get(Sampler.HEAP);
  static final Tolerance FDS = SoakMain.TOLERANCES.get(Sampler.FDS);
  static final Tolerance THREADS = SoakMain.TOLERANCES.get(Sampler.UNPOOLED);

  /** 60 samples, one every 10 s (a 10-minute run). */
  static List<Sample> series(IntToDoubleFunction v) {
    List<Sample> s = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      s.add(new Sample(i * 10, v.applyAsDouble(i)));
    }
    return s;
  }

  @Test
  void aHeapGrowingByOneMiBAMinuteFails() {
    Random r = new Random(1);
    Verdict v = Trend.judge(series(i -> 60 * MIB + i * MIB / 6 + r.nextGaussian() * MIB), 60, HEAP);
    assertThat(v.outcome()).isEqualTo(Outcome.FAIL);
    assertThat(v.growth()).isGreaterThan(v.allowed());
  }

  @Test
  void aFlatNoisyHeapWithSpikesAndASawtoothPasses() {
    Random r = new Random(2);
    Verdict v = Trend.judge(series(i -> 60 * MIB + (i % 5) * 3 * MIB + r.nextGaussian() * MIB
        + (i == 55 ? 200 * MIB : 0)), 60, HEAP);
    assertThat(v.outcome()).isEqualTo(Outcome.PASS);
  }

  @Test
  void growthDuringTheWarmUpIsNotCounted() {
    // the first minute climbs from 20 to 80 MiB (class loading, pools), then stays flat
    Verdict v = Trend.judge(series(i -> i < 6 ? 20 * MIB + i * 10 * MIB : 80 * MIB), 60, HEAP);
    assertThat(v.outcome()).isEqualTo(Outcome.PASS);
    assertThat(v.first()).isEqualTo(20 * MIB);
    assertThat(v.last()).isEqualTo(80 * MIB);
    // a warm-up that lasts into the first third is seen as growth when not excluded
    assertThat(Trend.judge(series(i -> i < 20 ? 20 * MIB : 80 * MIB), 0, HEAP).outcome()).isEqualTo(Outcome.FAIL);
    assertThat(Trend.judge(series(i -> i < 20 ? 20 * MIB : 80 * MIB), 200, HEAP).outcome()).isEqualTo(Outcome.PASS);
  }

  @Test
  void leakingFileDescriptorsFailAndTransientOnesPass() {
    // one descriptor leaked per reconnect, a reconnect every 2 minutes: + 5; every 20 s: + 30
    assertThat(Trend.judge(series(i -> 40 + i / 2), 60, FDS).outcome()).isEqualTo(Outcome.FAIL);
    // short-lived sockets of a reconnect burst in a few samples
    assertThat(Trend.judge(series(i -> 40 + (i % 12 == 0 ? 30 : 0)), 60, FDS).outcome()).isEqualTo(Outcome.PASS);
  }

  @Test
  void aThreadPerRestartFails() {
    // 25 threads, one more that never ends per relay restart (every 2 minutes) and per 12 ssh sessions
    assertThat(Trend.judge(series(i -> 25 + i / 6), 60, THREADS).outcome()).isEqualTo(Outcome.FAIL);
    assertThat(Trend.judge(series(i -> 25 + (i % 2)), 60, THREADS).outcome()).isEqualTo(Outcome.PASS);
  }

  @Test
  void tooFewSamplesAreInconclusiveNotPass() {
    Verdict v = Trend.judge(series(i -> i * MIB).subList(0, 10), 60, HEAP);
    assertThat(v.outcome()).isEqualTo(Outcome.INCONCLUSIVE);
    assertThat(v.describe("MiB", MIB)).contains("inconclusive");
  }

  @Test
  void latencyDoublingFailsAndNoiseDoesNot() {
    List<Sample> flat = new ArrayList<>();
    List<Sample> slower = new ArrayList<>();
    for (int m = 0; m < 10; m++) {
      flat.add(new Sample(m * 60 + 30, 900 + (m % 3) * 100));
      slower.add(new Sample(m * 60 + 30, 900 + m * 300));
    }
    assertThat(Trend.judge(flat, 60, SoakMain.P50).outcome()).isEqualTo(Outcome.PASS);
    assertThat(Trend.judge(slower, 60, SoakMain.P50).outcome()).isEqualTo(Outcome.FAIL);
  }

  @Test
  void appResponsesAreParsedPlainAndChunked() throws Exception {
    AppHttp.Response plain = AppHttp.parse("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"
        .getBytes(StandardCharsets.ISO_8859_1));
    assertThat(plain.status()).isEqualTo(200);
    assertThat(plain.body()).isEqualTo("abc");
    AppHttp.Response chunked = AppHttp.parse("HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
        .concat("2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    assertThat(chunked.status()).isEqualTo(502);
    assertThat(chunked.body()).isEqualTo("abcde");
  }
}
