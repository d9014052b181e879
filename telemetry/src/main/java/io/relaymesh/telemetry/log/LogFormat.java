package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import java.util.Locale;

/** The structured log formats operators choose from ({@code --log-format}, {@code RELAYMESH_LOG_FORMAT}). */
public enum LogFormat {
  /** {@code key=value} text, the default ({@link LogfmtLayout}). */
  LOGFMT,
  /** One JSON object per line ({@link JsonLayout}). */
  JSON;

  public static final String ALLOWED = "logfmt, json";

  /** The lower-case name used on the command line. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** {@code logfmt} or {@code json} (any case, surrounding spaces ignored). */
  public static LogFormat parse(String s) {
    String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "logfmt" -> LOGFMT;
      case "json" -> JSON;
      default -> throw new IllegalArgumentException(
          "unknown log format '" + s + "' (allowed: " + ALLOWED + ")");
    };
  }

  /** A new, not yet started encoder for this format. */
  public Encoder<ILoggingEvent> encoder() {
    return this == JSON ? new JsonEncoder() : new LogfmtEncoder();
  }
}
