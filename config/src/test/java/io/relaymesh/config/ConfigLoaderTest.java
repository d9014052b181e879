package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir Path dir;

  private Path yaml(String text) throws IOException {
    Path file = dir.resolve("relaymesh.yaml");
    Files.writeString(file, text);
    return file;
  }

  private static ConfigLoader<Sample> sample() {
    return ConfigLoader.of("sample", Sample.class);
  }

  private static List<String> problems(ConfigLoader<?> loader) {
    try {
      loader.load();
    } catch (ConfigException e) {
      return e.problems();
    }
    throw new AssertionError("expected a ConfigException");
  }

  @Test
  void defaultsWhenNothingIsGiven() {
    LoadedConfig<Sample> loaded = sample().load();
    assertThat(loaded.config()).isEqualTo(Sample.defaults());
    assertThat(loaded.source("sample.name")).isEqualTo(Source.DEFAULT);
    assertThat(loaded.sources()).containsKeys("sample.name", "sample.inner.host");
  }

  @Test
  void eachLayerOverridesThePreviousOneForTheSameKey() throws IOException {
    Path file = yaml("sample:\n  name: from-file\n");
    Map<String, String> env = Map.of("RELAYMESH_SAMPLE_NAME", "from-env");

    assertThat(sample().file(file).load().config().name()).isEqualTo("from-file");
    assertThat(sample().file(file).env(env).load().config().name()).isEqualTo("from-env");
    LoadedConfig<Sample> all = sample().file(file).env(env).flag("--name", "from-flag").load();
    assertThat(all.config().name()).isEqualTo("from-flag");
    assertThat(all.source("sample.name")).isEqualTo(new Source(Source.Layer.FLAG, "--name"));

    LoadedConfig<Sample> fileAndEnv = sample().file(file).env(env).load();
    assertThat(fileAndEnv.source("sample.name"))
        .isEqualTo(new Source(Source.Layer.ENV, "RELAYMESH_SAMPLE_NAME"));
    assertThat(sample().file(file).load().source("sample.name"))
        .isEqualTo(new Source(Source.Layer.FILE, file + " line 2"));
  }

  @Test
  void layersMergeKeyByKey() throws IOException {
    Path file = yaml("sample:\n  name: f\n  count: 7\n  inner:\n    host: h.file\n");
    Sample s = sample().file(file).env(Map.of("RELAYMESH_SAMPLE_COUNT", "8"))
        .flag("inner-idle-timeout", "1m").load().config();
    assertThat(s.name()).isEqualTo("f");
    assertThat(s.count()).isEqualTo(8);
    assertThat(s.inner().host()).isEqualTo("h.file");
    assertThat(s.inner().idleTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(s.big()).isEqualTo(2L);
  }

  @Test
  void nestedKeysInEveryLayer() throws IOException {
    assertThat(sample().file(yaml("sample:\n  inner:\n    host: y\n")).load().config().inner().host())
        .isEqualTo("y");
    assertThat(sample().env(Map.of("RELAYMESH_SAMPLE_INNER_HOST", "e")).load().config()
        .inner().host()).isEqualTo("e");
    assertThat(sample().flag("inner-host", "f").load().config().inner().host()).isEqualTo("f");
  }

  @Test
  void otherSectionsOfTheFileAreIgnored() throws IOException {
    Path file = yaml("relay:\n  region: eu\n  bogus: 1\nsample:\n  name: s\n");
    assertThat(sample().file(file).load().config().name()).isEqualTo("s");
  }

  @Test
  void environmentOfOtherSectionsAndUnrelatedVariablesIsIgnored() {
    Sample s = sample().env(Map.of("RELAYMESH_RELAY_BOGUS", "x", "PATH", "/bin",
        "RELAYMESH_SAMPLEX", "y")).load().config();
    assertThat(s).isEqualTo(Sample.defaults());
  }

  @Test
  void unknownYamlKeyWithDidYouMean() throws IOException {
    Path file = yaml("sample:\n  name: x\n  inner:\n    hots: y\n");
    assertThat(problems(sample().file(file))).containsExactly(
        "sample.inner.hots: unknown key (did you mean sample.inner.host?) (from " + file
            + " line 4)");
  }

  @Test
  void camelCaseYamlKeyIsRejectedButSuggestsTheKebabName() throws IOException {
    Path file = yaml("sample:\n  inner:\n    idleTimeout: 5m\n");
    assertThat(problems(sample().file(file))).containsExactly(
        "sample.inner.idleTimeout: unknown key (did you mean sample.inner.idle-timeout?) (from "
            + file + " line 3)");
  }

  @Test
  void unknownYamlKeyWithoutCloseMatch() throws IOException {
    Path file = yaml("sample:\n  zzzzzzzz: 1\n");
    assertThat(problems(sample().file(file))).containsExactly(
        "sample.zzzzzzzz: unknown key (from " + file + " line 2)");
  }

  @Test
  void unknownTopLevelSectionIsAnError() throws IOException {
    Path file = yaml("rellay:\n  region: eu\n");
    assertThat(problems(sample().file(file))).containsExactly(
        "rellay: unknown section (did you mean relay?) (from " + file + " line 1)");
  }

  @Test
  void unknownEnvironmentVariableWithAndWithoutDidYouMean() {
    assertThat(problems(sample().env(Map.of("RELAYMESH_SAMPLE_INNER_HOTS", "x"))))
        .containsExactly("RELAYMESH_SAMPLE_INNER_HOTS: unknown environment variable"
            + " (did you mean RELAYMESH_SAMPLE_INNER_HOST?)");
    assertThat(problems(sample().env(Map.of("RELAYMESH_SAMPLE_QQQQQQQQQ", "x"))))
        .containsExactly("RELAYMESH_SAMPLE_QQQQQQQQQ: unknown environment variable");
  }

  @Test
  void unknownFlagIsAnError() {
    assertThat(problems(sample().flag("--inner-hots", "x")))
        .containsExactly("--inner-hots: unknown flag for section sample"
            + " (did you mean --inner-host?)");
  }

  @Test
  void nullFlagValueMeansNotGiven() {
    assertThat(sample().flag("name", null).load().config().name()).isEqualTo(Sample.DEFAULT_NAME);
  }

  @Test
  void conversionErrorNamesKeyValueAndLayer() throws IOException {
    Path file = yaml("sample:\n  count: many\n");
    assertThat(problems(sample().file(file)
        .env(Map.of("RELAYMESH_SAMPLE_INNER_IDLE_TIMEOUT", "5 minutes"))
        .flag("enabled", "maybe")))
        .containsExactly(
            "sample.count: invalid integer \"many\" (from " + file + " line 2)",
            "sample.enabled: invalid boolean \"maybe\" (expected true or false) (from --enabled)",
            "sample.inner.idle-timeout: invalid duration \"5 minutes\" (expected e.g. 250ms,"
                + " 30s, 5m, 1h, 1h30m, 2d or ISO-8601 PT30S)"
                + " (from RELAYMESH_SAMPLE_INNER_IDLE_TIMEOUT)");
  }

  @Test
  void everyProblemOfEveryLayerIsReportedAtOnce() throws IOException {
    Path file = yaml("sample:\n  nmae: x\n");
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> sample().file(file).env(Map.of("RELAYMESH_SAMPLE_COUNT", "101"))
            .flag("timeout", "soon").load());
    assertThat(e.problems()).containsExactly(
        "sample.nmae: unknown key (did you mean sample.name?) (from " + file + " line 2)",
        "sample.timeout: invalid duration \"soon\" (expected e.g. 250ms, 30s, 5m, 1h, 1h30m, 2d"
            + " or ISO-8601 PT30S) (from --timeout)",
        "sample.count: must be between 0 and 100, got 101");
    assertThat(e.getMessage()).isEqualTo("invalid configuration (3 problems):\n  "
        + String.join("\n  ", e.problems()));
  }

  @Test
  void validationRunsOnNestedSectionsAutomatically() {
    assertThat(problems(sample().flag("inner-idle-timeout", "PT0S")))
        .containsExactly("sample.inner.idle-timeout: must be positive, got 0s");
  }

  @Test
  void validationProblemForAKeyThatFailedConversionIsNotRepeated() {
    assertThat(problems(sample().flag("count", "x")))
        .containsExactly("sample.count: invalid integer \"x\" (from --count)");
  }

  @Test
  void malformedYamlNamesFileLineAndColumn() throws IOException {
    Path file = yaml("sample:\n  name: a\n    count: 3\n");
    List<String> problems = problems(sample().file(file));
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("config file " + file + ": malformed YAML at line 3,")
        .contains("mapping values are not allowed");
  }

  @Test
  void missingFileIsAProblem() {
    Path file = dir.resolve("nope.yaml");
    assertThat(problems(sample().file(file)))
        .containsExactly("config file " + file + ": file not found");
  }

  @Test
  void emptyFileAndEmptySectionMeanDefaults() throws IOException {
    assertThat(sample().file(yaml("")).load().config()).isEqualTo(Sample.defaults());
    assertThat(sample().file(yaml("sample:\n")).load().config()).isEqualTo(Sample.defaults());
  }

  @Test
  void structuralYamlErrors() throws IOException {
    Path file = yaml("sample:\n  inner: flat\n  name: [a, b]\n  count: 1\n  count: 2\n");
    assertThat(problems(sample().file(file))).containsExactly(
        "sample.inner: expected a mapping (from " + file + " line 2)",
        "sample.count: duplicate key (from " + file + " line 5)",
        "sample.name: expected a single value, got a list (from " + file + " line 3)");
    assertThat(problems(sample().file(yaml("- a\n- b\n")))).containsExactly(
        "config file " + file + ": expected a mapping of sections (sample: ...) at the top level"
            + " (from " + file + " line 1)");
  }

  @Test
  void yamlNullResetsANullableDefaultAndIsAnErrorForPrimitives() throws IOException {
    Path file = yaml("sample:\n  name: ~\n");
    assertThat(sample().file(file).load().config().name()).isNull();
    Path file2 = yaml("sample:\n  count:\n");
    assertThat(problems(sample().file(file2))).containsExactly(
        "sample.count: a value is required (integer) (from " + file2 + " line 2)");
  }

  @Test
  void environmentAliasIsReadAndTheCanonicalNameWins() {
    ConfigLoader<CliConfig> loader = ConfigLoader.of("cli", CliConfig.class)
        .env(Map.of("RELAYMESH_CONFIG_DIR", "/alias"));
    assertThat(loader.load().config().configDir()).isEqualTo(Path.of("/alias"));
    LoadedConfig<CliConfig> both = ConfigLoader.of("cli", CliConfig.class)
        .env(Map.of("RELAYMESH_CONFIG_DIR", "/alias", "RELAYMESH_CLI_CONFIG_DIR", "/canonical"))
        .load();
    assertThat(both.config().configDir()).isEqualTo(Path.of("/canonical"));
    assertThat(both.source("cli.config-dir").where()).isEqualTo("RELAYMESH_CLI_CONFIG_DIR");
  }

  @Test
  void keysDescribeTheNamingRule() {
    ConfigKey cert = ConfigLoader.of("relay", RelayConfig.class).keys().stream()
        .filter(k -> k.path().equals("relay.tls.cert")).findFirst().orElseThrow();
    assertThat(cert.flag()).isEqualTo("--tls-cert");
    assertThat(cert.env()).isEqualTo("RELAYMESH_RELAY_TLS_CERT");
    assertThat(cert.type()).isEqualTo("path");
  }

  @Test
  void recordWithoutDefaultsOrWithUnsupportedTypeIsAProgrammingError() {
    record NoDefaults(String a) {}
    assertThatThrownBy(() -> ConfigLoader.of("x", NoDefaults.class))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("defaults()");
  }

  /** A record with an unsupported component type, for the test below. */
  public record Unsupported(Object value) {
    public static Unsupported defaults() {
      return new Unsupported(null);
    }
  }

  @Test
  void unsupportedComponentTypeIsRejectedUpFront() {
    assertThatThrownBy(() -> ConfigLoader.of("x", Unsupported.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unsupported config type");
  }
}
