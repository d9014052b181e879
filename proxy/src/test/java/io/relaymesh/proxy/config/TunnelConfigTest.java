package io.relaymesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.wire.WireSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link TunnelConfig} lives in the config module; its rules matter to the protocol. */
class TunnelConfigTest {

  private static List<String> problems(TunnelConfig c) {
    List<String> p = new ArrayList<>();
    c.validate("tunnel", p);
    return p;
  }

  @Test
  void defaultsAreValidAndMatchTheSpec() {
    TunnelConfig d = TunnelConfig.defaults();
    assertThat(problems(d)).isEmpty();
    assertThat(d.maxFrameSize()).isEqualTo(WireSpec.DEFAULT_MAX_FRAME_SIZE);
    assertThat(d.initialStreamWindow()).isEqualTo(WireSpec.DEFAULT_INITIAL_WINDOW);
    assertThat(d.maxConcurrentStreams()).isEqualTo(WireSpec.DEFAULT_MAX_CONCURRENT_STREAMS);
    assertThat(d.maxOpenSize()).isEqualTo(WireSpec.DEFAULT_MAX_OPEN_SIZE);
    assertThat(TunnelConfig.MIN_FRAME_SIZE).isEqualTo(WireSpec.MIN_MAX_FRAME_SIZE);
    assertThat(TunnelConfig.MAX_FRAME_SIZE_LIMIT).isEqualTo(WireSpec.MAX_MAX_FRAME_SIZE);
    // every stream can get its initial window within the session budget
    assertThat((long) d.maxConcurrentStreams() * d.initialStreamWindow())
        .isLessThanOrEqualTo(d.maxBufferedPerSession());
    // full speed at 100 ms RTT needs more than yamux's 256 KiB
    assertThat(d.initialStreamWindow()).isGreaterThan(256 * 1024);
    assertThat(d.maxStreamWindow()).isGreaterThanOrEqualTo(16 * 1024 * 1024);
  }

  @Test
  void reportsEveryProblemWithItsKey() {
    TunnelConfig bad = new TunnelConfig(100, 0, -1, 0, 0, 0, 0, 10, 10, 0, 2,
        Duration.ZERO, Duration.ofSeconds(-1), Duration.ofSeconds(30), Duration.ofSeconds(10));
    assertThat(problems(bad)).containsExactlyInAnyOrder(
        "tunnel.max-frame-size: must be between 1024 and 16777216 bytes, got 100",
        "tunnel.initial-stream-window: must be at least 1 byte, got 0",
        "tunnel.max-stream-window: must be at least initial-stream-window (0), got -1",
        "tunnel.max-concurrent-streams: must be at least 1, got 0",
        "tunnel.max-open-rate: must be at least 1 per second, got 0",
        "tunnel.max-reset-rate: must be at least 1 per second, got 0",
        "tunnel.max-ping-rate: must be at least 1 per second, got 0",
        "tunnel.stream-write-queue-size: must be at least 1 byte, got 0",
        "tunnel.max-open-size: must be between 3 and max-frame-size (100) bytes, got 2",
        "tunnel.open-timeout: must be positive, got PT0S",
        "tunnel.idle-timeout: must be zero (off) or positive, got PT-1S",
        "tunnel.dead-peer-timeout: must be longer than keepalive-interval (PT30S), got PT10S");
  }

  @Test
  void missingDurationsAndRelationsAreReported() {
    TunnelConfig d = TunnelConfig.defaults();
    TunnelConfig c = d.withTimeouts(null, Duration.ZERO, Duration.ZERO, Duration.ofDays(2))
        .withBuffers(1000, d.maxBufferedPerSession(), 4096);
    assertThat(problems(c)).containsExactlyInAnyOrder(
        "tunnel.open-timeout: is required",
        "tunnel.dead-peer-timeout: must be at most 1 day, got PT48H",
        "tunnel.max-buffered-per-stream: must be at least stream-write-queue-size (4096), got 1000");
  }
}
