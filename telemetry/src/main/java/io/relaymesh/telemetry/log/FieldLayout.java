package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.LayoutBase;
import java.util.List;
import java.util.Map;
import org.slf4j.event.KeyValuePair;

/**
 * What the structured layouts share: the fixed fields ({@code ts level logger msg}), then the
 * event's SLF4J key-value pairs in the order they were added, then MDC entries whose key no pair
 * used, then the exception. A pair whose key is one of the fixed fields is renamed {@code kv_<key>}.
 * Values under a secret-looking key ({@link Redactor#isSecretKey}) are replaced whole; every other
 * text (message, string values, MDC values, exception messages) goes through {@link Redactor}.
 * Thread-safe: no state but the settings.
 */
abstract class FieldLayout extends LayoutBase<ILoggingEvent> {

  static final int DEFAULT_MAX_STACK_FRAMES = 12;

  private int maxStackFrames = DEFAULT_MAX_STACK_FRAMES;

  /** Frames rendered per exception in a chain (default {@value #DEFAULT_MAX_STACK_FRAMES}). */
  public void setMaxStackFrames(int maxStackFrames) {
    this.maxStackFrames = Math.max(0, maxStackFrames);
  }

  public int getMaxStackFrames() {
    return maxStackFrames;
  }

  @Override
  public String getContentType() {
    return "text/plain";
  }

  /** {@code info}, {@code warn}, ... */
  static String level(Level level) {
    if (level == null) {
      return "info";
    }
    return switch (level.toInt()) {
      case Level.TRACE_INT -> "trace";
      case Level.DEBUG_INT -> "debug";
      case Level.INFO_INT -> "info";
      case Level.WARN_INT -> "warn";
      case Level.ERROR_INT -> "error";
      default -> level.levelStr.toLowerCase(java.util.Locale.ROOT);
    };
  }

  /** The key a pair is written under: {@code kv_msg} for a pair named like a fixed field. */
  static String fieldKey(String key) {
    if (key == null) {
      return "_";
    }
    return switch (key) {
      case "ts", "level", "logger", "msg", "error", "stack" -> "kv_" + key;
      default -> key;
    };
  }

  /** Receives the extra fields of one event. */
  interface Fields {
    void field(String key, Object value);
  }

  /** The pairs, then the MDC entries not shadowed by a pair. */
  static void eachField(ILoggingEvent e, Fields out) {
    List<KeyValuePair> kvs = e.getKeyValuePairs();
    if (kvs != null) {
      for (KeyValuePair kv : kvs) {
        if (kv != null) {
          out.field(fieldKey(kv.key), kv.value);
        }
      }
    }
    Map<String, String> mdc = e.getMDCPropertyMap();
    if (mdc != null && !mdc.isEmpty()) {
      for (Map.Entry<String, String> m : mdc.entrySet()) {
        if (!hasPair(kvs, m.getKey())) {
          out.field(fieldKey(m.getKey()), m.getValue());
        }
      }
    }
  }

  private static boolean hasPair(List<KeyValuePair> kvs, String key) {
    if (kvs != null) {
      for (KeyValuePair kv : kvs) {
        if (kv != null && key.equals(kv.key)) {
          return true;
        }
      }
    }
    return false;
  }

  /** {@code value} as log text, redacted; {@code toString} failures are reported, not thrown. */
  static String text(String key, Object value) {
    if (Redactor.isSecretKey(key)) {
      return Redactor.REDACTED;
    }
    String s;
    try {
      s = value instanceof Object[] a ? java.util.Arrays.deepToString(a) : String.valueOf(value);
    } catch (RuntimeException ex) {
      s = "[toString failed: " + ex.getClass().getName() + "]";
    }
    return Redactor.redact(s);
  }
}
