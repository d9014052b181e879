package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of the config loader (docs/fuzzing.md): arbitrary YAML text plus
 * fuzzed environment variables and flags (names mostly real ones, values anything) give a
 * config or a {@link ConfigException} listing non-blank problems; never another exception. A
 * secret given through the environment or a flag never appears in the error, in the config
 * record's {@code toString} or in the loaded config's {@code toString}/{@code describe}.
 */
class ConfigLoaderFuzzTest {
  /** Marks the secret's value; must not appear in any message. */
  static final String SECRET = "S3CR3T-d41d8cd98f";
  static final List<String> SECTIONS = new ArrayList<>(ConfigSections.ALL.keySet());
  static Path dir;

  @BeforeAll
  static void tempDir() throws IOException {
    dir = Files.createTempDirectory("config-fuzz");
  }

  @AfterAll
  static void cleanUp() throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @FuzzTest(maxDuration = "3m")
  void anyYamlEnvAndFlagsLoadOrFailWithTheLoadersError(FuzzedDataProvider data)
      throws IOException {
    String section = SECTIONS.get(data.consumeInt(0, SECTIONS.size() - 1));
    Class<? extends Record> type = ConfigSections.ALL.get(section);
    List<ConfigKey> keys = ConfigKey.of(section, type);
    Map<String, String> env = new HashMap<>();
    Map<String, Object> flags = new LinkedHashMap<>();
    int n = data.consumeInt(0, 4);
    for (int i = 0; i < n; i++) {
      ConfigKey k = keys.get(data.consumeInt(0, keys.size() - 1));
      if (k.secret()) {
        continue; // the secret is set below, with the marker
      }
      String value = data.consumeString(40);
      if (data.consumeBoolean()) {
        env.put(data.consumeInt(0, 9) == 0 ? k.env() + "X" : k.env(), value);
      } else {
        flags.put(data.consumeInt(0, 9) == 0 ? k.flag() + "x" : k.flag(),
            data.consumeBoolean() ? List.of(value, value) : value);
      }
    }
    boolean secretGiven = false;
    for (ConfigKey k : keys) {
      if (k.secret() && data.consumeBoolean()) {
        String suffix = data.consumeString(12);
        String value = k.path().endsWith("url")
            ? "postgresql://user:" + SECRET + suffix + "@localhost/db" : SECRET + suffix;
        if (data.consumeBoolean()) {
          env.put(k.env(), value);
        } else {
          flags.put(k.flag(), value);
        }
        secretGiven = true;
      }
    }
    Path file = null;
    if (data.consumeBoolean()) {
      file = dir.resolve("relaymesh.yaml");
      Files.write(file, data.consumeRemainingAsBytes());
    }
    ConfigLoader<? extends Record> loader = ConfigLoader.of(section, type).file(file).env(env)
        .flags(flags);
    try {
      LoadedConfig<? extends Record> loaded = loader.load();
      assertThat(loaded.section()).isEqualTo(section);
      assertThat(ConfigLoader.validate(section, loaded.config())).isEmpty();
      if (secretGiven) {
        assertThat(loaded.config().toString()).doesNotContain(SECRET);
        assertThat(loaded.toString()).doesNotContain(SECRET);
        assertThat(loaded.describe()).doesNotContain(SECRET);
      }
    } catch (ConfigException e) {
      assertThat(e.problems()).isNotEmpty().allSatisfy(p -> assertThat(p).isNotBlank());
      assertThat(e.getMessage()).as("the error shows a secret").doesNotContain(SECRET);
    }
  }
}
