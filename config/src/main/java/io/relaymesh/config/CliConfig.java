package io.relaymesh.config;

import java.nio.file.Path;
import java.util.List;

/**
 * Settings of the {@code relaymesh} client commands (login, ssh, port-forward, listings); YAML
 * section {@code cli}, environment prefix {@code RELAYMESH_CLI_}. The config directory is also
 * read from {@code RELAYMESH_CONFIG_DIR}, the name fixed by the public surface.
 *
 * @param configDir where the CLI session and state are stored
 * @param output output format of listings
 * @param region pinned region; {@code null}: the nearest healthy relay by latency
 */
public record CliConfig(
    @Doc("where the CLI session and state are stored") @EnvAlias("RELAYMESH_CONFIG_DIR")
    Path configDir,
    @Doc("output format of listings") OutputFormat output,
    @Doc("pin this region instead of choosing the nearest relay by latency") String region)
    implements ConfigSection {

  /** Output format of listings ({@code -o}). */
  public enum OutputFormat { TEXT, JSON }

  public static final Path DEFAULT_CONFIG_DIR =
      Path.of(System.getProperty("user.home"), ".config", "relaymesh");
  public static final OutputFormat DEFAULT_OUTPUT = OutputFormat.TEXT;

  public static CliConfig defaults() {
    return new CliConfig(DEFAULT_CONFIG_DIR, DEFAULT_OUTPUT, null);
  }

  @Override
  public void validate(String path, List<String> problems) {
    Checks.required(problems, path, "config-dir", configDir);
    Checks.required(problems, path, "output", output);
    Checks.region(problems, path, "region", region);
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
