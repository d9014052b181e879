package io.relaymesh.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A section with every supported component type, for loader tests (section {@code sample}). */
public record Sample(
    String name,
    int count,
    long big,
    boolean enabled,
    double ratio,
    Duration timeout,
    Path dir,
    @ByteSize long buffer,
    @ByteSize int frame,
    Mode mode,
    List<String> tags,
    @Secret String password,
    Inner inner)
    implements ConfigSection {

  public enum Mode { FAST, VERY_SAFE }

  /** Nested section {@code sample.inner}. */
  public record Inner(String host, @Secret String apiKey, Duration idleTimeout)
      implements ConfigSection {
    @Override
    public void validate(String path, List<String> problems) {
      Checks.positive(problems, path, "idle-timeout", idleTimeout);
    }

    @Override
    public String toString() {
      return ConfigStrings.toString(this);
    }
  }

  public static final String DEFAULT_NAME = "n0";

  public static Sample defaults() {
    return new Sample(DEFAULT_NAME, 1, 2L, false, 0.5, Duration.ofSeconds(30), Path.of("/tmp"),
        64 * 1024, 1024, Mode.FAST, List.of("a"), null,
        new Inner("localhost", null, Duration.ofMinutes(5)));
  }

  @Override
  public void validate(String path, List<String> problems) {
    Checks.range(problems, path, "count", count, 0, 100);
  }

  @Override
  public String toString() {
    return ConfigStrings.toString(this);
  }
}
