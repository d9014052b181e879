package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's remembered relay choices: round trip, freshness, damaged files, removal. */
class RelayChoiceCacheTest {

  @Test
  void remembersPerKeyAndJudgesFreshness(@TempDir Path dir) throws Exception {
    RelayChoiceCache cache = new RelayChoiceCache(dir.resolve("config"));
    assertThat(cache.get("k")).isNull(); // no file yet
    Instant t = Instant.parse("2026-01-02T03:04:05Z");
    cache.put("k", new RelayChoiceCache.Entry("eu-1", "eu", "https://eu-1.example.com", 12.5, t));
    cache.put("k2", new RelayChoiceCache.Entry("us-1", "us", "https://us-1.example.com", null, null));
    RelayChoiceCache.Entry e = new RelayChoiceCache(dir.resolve("config")).get("k");
    assertThat(e).isEqualTo(new RelayChoiceCache.Entry("eu-1", "eu", "https://eu-1.example.com", 12.5, t));
    assertThat(e.key()).isEqualTo("eu-1");
    assertThat(e.freshAt(t.plus(Duration.ofMinutes(10)), Duration.ofMinutes(10))).isTrue();
    assertThat(e.freshAt(t.plus(Duration.ofMinutes(11)), Duration.ofMinutes(10))).isFalse();
    assertThat(e.freshAt(t.minus(Duration.ofHours(1)), Duration.ofMinutes(10))).as("from the future").isFalse();
    assertThat(e.freshAt(t, Duration.ZERO)).isTrue();
    assertThat(e.freshAt(t.plusMillis(1), Duration.ZERO)).isFalse();
    RelayChoiceCache.Entry unmeasured = cache.get("k2");
    assertThat(unmeasured.freshAt(t, Duration.ofDays(1))).isFalse();

    cache.put("k", null);
    assertThat(cache.get("k")).isNull();
    assertThat(cache.get("k2")).isNotNull();
    try (var files = Files.list(dir.resolve("config"))) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(RelayChoiceCache.FILE);
    }
  }

  @Test
  void aDamagedFileIsIgnoredAndReplaced(@TempDir Path dir) throws Exception {
    RelayChoiceCache cache = new RelayChoiceCache(dir);
    Files.writeString(cache.file(), "{not json");
    assertThat(cache.get("k")).isNull();
    cache.put("k", new RelayChoiceCache.Entry(null, null, "https://relay.example.com", 3.0, Instant.now()));
    assertThat(cache.get("k").key()).isEqualTo("https://relay.example.com");
  }
}
