package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One flat JSON object per line:
 * <pre>
 * {"ts":"2026-11-29T23:22:33.123Z","level":"info","logger":"relay.tunnel.Tunnels","msg":"stream closed","stream_id":5,"bytes_in":123}
 * </pre>
 * Integer and finite floating-point values are JSON numbers, booleans are booleans, {@code null}
 * is {@code null}, everything else a string. An exception adds
 * {@code "error":{"type":..,"message":..,"stack":[..],"cause":{..}}}. See {@link FieldLayout} for
 * the field order and redaction.
 */
public class JsonLayout extends FieldLayout {

  @Override
  public String getContentType() {
    return "application/json";
  }

  @Override
  public String doLayout(ILoggingEvent e) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"ts\":\"");
    Timestamps.append(sb, e.getTimeStamp());
    sb.append("\",\"level\":\"").append(level(e.getLevel()));
    sb.append("\",\"logger\":");
    Escaping.jsonString(sb, LoggerNames.shorten(e.getLoggerName()));
    sb.append(",\"msg\":");
    String msg = Redactor.redact(e.getFormattedMessage());
    Escaping.jsonString(sb, msg == null ? "" : msg);
    eachField(e, (k, v) -> {
      sb.append(',');
      Escaping.jsonString(sb, k);
      sb.append(':');
      appendValue(sb, k, v);
    });
    IThrowableProxy t = e.getThrowableProxy();
    if (t != null) {
      sb.append(",\"error\":");
      appendError(sb, t, 0);
    }
    return sb.append("}\n").toString();
  }

  static void appendValue(StringBuilder sb, String key, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (Redactor.isSecretKey(key)) {
      Escaping.jsonString(sb, Redactor.REDACTED);
    } else if (v instanceof Integer || v instanceof Long || v instanceof Short
        || v instanceof Byte || v instanceof BigInteger || v instanceof AtomicInteger
        || v instanceof AtomicLong || v instanceof Boolean) {
      sb.append(v);
    } else if (v instanceof BigDecimal d) {
      sb.append(d.toString());
    } else if (v instanceof Double d && Double.isFinite(d)) {
      sb.append(d.doubleValue());
    } else if (v instanceof Float f && Float.isFinite(f)) {
      sb.append(f.floatValue());
    } else {
      Escaping.jsonString(sb, text(key, v));
    }
  }

  private void appendError(StringBuilder sb, IThrowableProxy t, int depth) {
    sb.append("{\"type\":");
    Escaping.jsonString(sb, t.getClassName());
    if (t.getMessage() != null) {
      sb.append(",\"message\":");
      Escaping.jsonString(sb, Redactor.redact(t.getMessage()));
    }
    if (getMaxStackFrames() > 0) {
      sb.append(",\"stack\":[");
      boolean first = true;
      for (String f : Throwables.frames(t, getMaxStackFrames())) {
        if (!first) {
          sb.append(',');
        }
        Escaping.jsonString(sb, f);
        first = false;
      }
      sb.append(']');
    }
    IThrowableProxy cause = t.getCause();
    if (cause != null && !t.isCyclic() && depth < Throwables.MAX_CAUSES) {
      sb.append(",\"cause\":");
      appendError(sb, cause, depth + 1);
    }
    sb.append('}');
  }
}
