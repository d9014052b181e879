package io.relaymesh.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Settings of the {@code relaymesh} client commands (login, ssh, port-forward, listings); YAML
 * section {@code cli}, environment prefix {@code RELAYMESH_CLI_}. The config directory is also
 * read from {@code RELAYMESH_CONFIG_DIR}, the name fixed by the public surface.
 *
 * @param configDir where the CLI session and state are stored
 * @param output output format of listings
 * @param region pinned region; {@code null}: the nearest healthy relay by latency
 * @param relayChoiceMaxAge how long the relay chosen for a workspace (kept in the config
 *     directory) is reused without measuring the relays again
 */
public record CliConfig(
    @Doc("where the CLI session and state are stored") @EnvAlias("RELAYMESH_CONFIG_DIR")
    Path configDir,
    @Doc("output format of listings") OutputFormat output,
    @Doc("pin this region instead of choosing the nearest relay by latency") String region,
    @Doc("how long the relay chosen for a workspace is reused before the relays are measured again; 0: every time")
    Duration relayChoiceMaxAge)
    implements ConfigSection {

  /** Output format of listings ({@code -o}). */
  public enum OutputFormat { TEXT, JSON }

  public static final Path DEFAULT_CONFIG_DIR =
      Path.of(System.getProperty("user.home"), ".config", "relaymesh");
  public static final OutputFormat DEFAULT_OUTPUT = OutputFormat.TEXT;
  public static final Duration DEFAULT_RELAY_CHOICE_MAX_AGE = Duration.ofMinutes(10);

  public static CliConfig defaults() {
    return new CliConfig(DEFAULT_CONFIG_DIR, DEFAULT_OUTPUT, null, DEFAULT_RELAY_CHOICE_MAX_AGE);
  }

  @Override
  public void validate(String path, List<String> problems) {
    Checks.required(problems, path, "config-dir", configDir);
    Checks.required(problems, path, "output", output);
    Checks.region(problems, path, "region", region);
    if (Checks.required(problems, path, "relay-choice-max-age", relayChoiceMaxAge)
        && relayChoiceMaxAge.isNegative()) {
      problems.add(ConfigSection.key(path, "relay-choice-max-age") + ": must not be negative (0: measure every time)");
    }
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
