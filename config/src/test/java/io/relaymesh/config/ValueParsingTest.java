package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Parsing of every supported type, through the flag layer (the same rules apply everywhere). */
class ValueParsingTest {

  private static Sample withFlag(String flag, Object value) {
    return ConfigLoader.of("sample", Sample.class).flag(flag, value).load().config();
  }

  private static String problemOf(String flag, String value) {
    try {
      ConfigLoader.of("sample", Sample.class).flag(flag, value).load();
    } catch (ConfigException e) {
      assertThat(e.problems()).hasSize(1);
      return e.problems().get(0);
    }
    throw new AssertionError("expected a problem for --" + flag + "=" + value);
  }

  @ParameterizedTest
  @CsvSource({"250ms,PT0.25S", "30s,PT30S", "5m,PT5M", "1h,PT1H", "2d,PT48H", "1h30m,PT1H30M",
      "PT45S,PT45S", "pt2m,PT2M", "P1D,PT24H"})
  void durations(String text, String iso) {
    assertThat(withFlag("timeout", text).timeout()).isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @CsvSource({"5 minutes", "30", "5x", "m5", "''", "PTx", "1.5h"})
  void invalidDurations(String text) {
    assertThat(problemOf("timeout", text)).isEqualTo("sample.timeout: invalid duration \"" + text
        + "\" (expected e.g. 250ms, 30s, 5m, 1h, 1h30m, 2d or ISO-8601 PT30S) (from --timeout)");
  }

  @ParameterizedTest
  @CsvSource({"512,512", "512B,512", "64KiB,65536", "4MiB,4194304", "1GiB,1073741824",
      "1TiB,1099511627776", "2 kib,2048"})
  void byteSizes(String text, long bytes) {
    assertThat(withFlag("buffer", text).buffer()).isEqualTo(bytes);
  }

  @ParameterizedTest
  @CsvSource({"4MB", "1.5MiB", "-1", "lots"})
  void invalidByteSizes(String text) {
    assertThat(problemOf("buffer", text)).isEqualTo("sample.buffer: invalid byte size \"" + text
        + "\" (expected a number of bytes or a binary unit: 512, 64KiB, 4MiB, 1GiB)"
        + " (from --buffer)");
  }

  @Test
  void byteSizeOverflow() {
    assertThat(problemOf("buffer", "99999999TiB"))
        .isEqualTo("sample.buffer: byte size too large: \"99999999TiB\" (from --buffer)");
    assertThat(withFlag("frame", "1MiB").frame()).isEqualTo(1 << 20);
    assertThat(problemOf("frame", "2GiB"))
        .isEqualTo("sample.frame: out of range for a 32-bit integer: \"2GiB\" (from --frame)");
  }

  @Test
  void integers() {
    assertThat(withFlag("count", " 42 ").count()).isEqualTo(42);
    assertThat(withFlag("big", "10_000_000_000").big()).isEqualTo(10_000_000_000L);
    assertThat(problemOf("count", "4.5"))
        .isEqualTo("sample.count: invalid integer \"4.5\" (from --count)");
    assertThat(problemOf("count", "3000000000"))
        .isEqualTo("sample.count: out of range for a 32-bit integer: \"3000000000\" (from --count)");
  }

  @ParameterizedTest
  @CsvSource({"true,true", "FALSE,false", "yes,true", "off,false", "1,true", "0,false"})
  void booleans(String text, boolean expected) {
    assertThat(withFlag("enabled", text).enabled()).isEqualTo(expected);
  }

  @Test
  void doubles() {
    assertThat(withFlag("ratio", "0.25").ratio()).isEqualTo(0.25);
    assertThat(problemOf("ratio", "NaN"))
        .isEqualTo("sample.ratio: invalid number \"NaN\" (from --ratio)");
  }

  @Test
  void paths() {
    assertThat(withFlag("dir", "/var/lib/x").dir()).isEqualTo(Path.of("/var/lib/x"));
    assertThat(withFlag("dir", "~/state").dir())
        .isEqualTo(Path.of(System.getProperty("user.home"), "state"));
    assertThat(problemOf("dir", "")).isEqualTo("sample.dir: empty path (from --dir)");
  }

  @Test
  void enumsAreKebabCaseAndCaseInsensitive() {
    assertThat(withFlag("mode", "very-safe").mode()).isEqualTo(Sample.Mode.VERY_SAFE);
    assertThat(withFlag("mode", "VERY_SAFE").mode()).isEqualTo(Sample.Mode.VERY_SAFE);
    assertThat(withFlag("mode", Sample.Mode.FAST).mode()).isEqualTo(Sample.Mode.FAST);
    assertThat(problemOf("mode", "slow"))
        .isEqualTo("sample.mode: invalid value \"slow\" (expected one of: fast, very-safe)"
            + " (from --mode)");
  }

  @Test
  void listsFromCommaSeparatedTextFlagCollectionsAndYaml() throws Exception {
    assertThat(withFlag("tags", "a, b,,c").tags()).containsExactly("a", "b", "c");
    assertThat(withFlag("tags", List.of("x", "y")).tags()).containsExactly("x", "y");
    Sample env = ConfigLoader.of("sample", Sample.class)
        .env(Map.of("RELAYMESH_SAMPLE_TAGS", "e1,e2")).load().config();
    assertThat(env.tags()).containsExactly("e1", "e2");
    java.nio.file.Path file = java.nio.file.Files.createTempFile("sample", ".yaml");
    try {
      java.nio.file.Files.writeString(file, "sample:\n  tags: [p, 'q, r']\n");
      assertThat(ConfigLoader.of("sample", Sample.class).file(file).load().config().tags())
          .containsExactly("p", "q, r");
    } finally {
      java.nio.file.Files.delete(file);
    }
  }

  @Test
  void typedFlagValuesRoundTrip() {
    Sample s = ConfigLoader.of("sample", Sample.class)
        .flag("timeout", Duration.ofMillis(1500)).flag("count", 9).flag("enabled", true)
        .flag("dir", Path.of("/d")).load().config();
    assertThat(s.timeout()).isEqualTo(Duration.ofMillis(1500));
    assertThat(s.count()).isEqualTo(9);
    assertThat(s.enabled()).isTrue();
    assertThat(s.dir()).isEqualTo(Path.of("/d"));
  }

  @Test
  void yamlScalarsAreParsedByTheSameRulesNotByYamlTypeGuessing() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("sample", ".yaml");
    try {
      java.nio.file.Files.writeString(file,
          "sample:\n  name: 0755\n  enabled: yes\n  buffer: 4MiB\n  timeout: 2m\n");
      Sample s = ConfigLoader.of("sample", Sample.class).file(file).load().config();
      assertThat(s.name()).isEqualTo("0755");
      assertThat(s.enabled()).isTrue();
      assertThat(s.buffer()).isEqualTo(4L << 20);
      assertThat(s.timeout()).isEqualTo(Duration.ofMinutes(2));
    } finally {
      java.nio.file.Files.delete(file);
    }
  }
}
