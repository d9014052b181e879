package io.relaymesh.config;

import java.util.List;

/**
 * Configuration could not be loaded or is invalid. Carries every problem found, each formatted
 * {@code "<key.path>: <reason>"}; the message lists them one per line, so a CLI can print
 * {@link #getMessage()} as is.
 */
public final class ConfigException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(format(problems));
    this.problems = List.copyOf(problems);
  }

  /** Every problem, in the order found: file, environment, flags, conversion, validation. */
  public List<String> problems() {
    return problems;
  }

  private static String format(List<String> problems) {
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one problem");
    }
    if (problems.size() == 1) {
      return "invalid configuration: " + problems.get(0);
    }
    return "invalid configuration (" + problems.size() + " problems):\n  "
        + String.join("\n  ", problems);
  }
}
