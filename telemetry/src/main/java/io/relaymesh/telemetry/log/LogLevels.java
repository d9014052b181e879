package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.Level;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A log level setting ({@code --log-level}, {@code RELAYMESH_LOG_LEVEL}): a level for Relaymesh's
 * own loggers, optionally followed by per-logger levels, comma-separated:
 * {@code debug}, {@code info,io.relaymesh.relay=debug,io.netty=info}. Levels: trace, debug, info,
 * warn, error, off.
 *
 * @param relaymesh the level of {@code io.relaymesh} (null: keep the configured one)
 * @param loggers   per-logger levels, in the order given
 */
public record LogLevels(Level relaymesh, Map<String, Level> loggers) {

  public static final String ALLOWED = "trace, debug, info, warn, error, off";

  public LogLevels {
    loggers = Map.copyOf(loggers);
  }

  /** Parses a setting; an error names the bad part and the allowed levels. */
  public static LogLevels parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("empty log level (allowed: " + ALLOWED + ")");
    }
    Level base = null;
    Map<String, Level> loggers = new LinkedHashMap<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      if (eq < 0) {
        if (base != null) {
          throw new IllegalArgumentException("log level '" + spec + "' names two levels for "
              + "io.relaymesh; per-logger levels are written logger=level");
        }
        base = level(p);
      } else {
        String name = p.substring(0, eq).trim();
        if (name.isEmpty() || !name.matches("[A-Za-z0-9_.$-]+")) {
          throw new IllegalArgumentException("bad logger name '" + name + "' in log level '"
              + spec + "'");
        }
        loggers.put(name, level(p.substring(eq + 1)));
      }
    }
    if (base == null && loggers.isEmpty()) {
      throw new IllegalArgumentException("empty log level (allowed: " + ALLOWED + ")");
    }
    return new LogLevels(base, loggers);
  }

  private static Level level(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "trace" -> Level.TRACE;
      case "debug" -> Level.DEBUG;
      case "info" -> Level.INFO;
      case "warn", "warning" -> Level.WARN;
      case "error" -> Level.ERROR;
      case "off" -> Level.OFF;
      default -> throw new IllegalArgumentException(
          "unknown log level '" + s.trim() + "' (allowed: " + ALLOWED + ")");
    };
  }
}
