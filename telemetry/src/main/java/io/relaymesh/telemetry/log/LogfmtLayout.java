package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;

/**
 * One logfmt line per event:
 * <pre>
 * ts=2026-11-29T23:22:33.123Z level=info logger=relay.tunnel.Tunnels msg="stream closed" stream_id=5 bytes_in=123
 * </pre>
 * An exception adds {@code error="<class>: <message>"} and {@code stack="<frame> | <frame> | ... N
 * more | caused by: <class>: <message> | <frame> ..."}: the whole event stays on one line, so a
 * {@code grep} for any of its keys finds all of it. See {@link FieldLayout} for the field order
 * and redaction, {@link Escaping#logfmtValue} for quoting.
 */
public class LogfmtLayout extends FieldLayout {

  @Override
  public String doLayout(ILoggingEvent e) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("ts=");
    Timestamps.append(sb, e.getTimeStamp());
    sb.append(" level=").append(level(e.getLevel()));
    sb.append(" logger=");
    Escaping.logfmtValue(sb, LoggerNames.shorten(e.getLoggerName()));
    sb.append(" msg=");
    Escaping.logfmtValue(sb, Redactor.redact(e.getFormattedMessage()));
    eachField(e, (k, v) -> appendField(sb, k, v));
    IThrowableProxy t = e.getThrowableProxy();
    if (t != null) {
      sb.append(" error=");
      Escaping.logfmtValue(sb, Throwables.summary(t));
      if (getMaxStackFrames() > 0) {
        StringBuilder stack = new StringBuilder(512);
        Throwables.appendCompact(stack, t, getMaxStackFrames());
        if (stack.length() > 0) {
          sb.append(" stack=");
          Escaping.logfmtValue(sb, stack.toString());
        }
      }
    }
    return sb.append('\n').toString();
  }

  static void appendField(StringBuilder sb, String key, Object v) {
    sb.append(' ');
    Escaping.logfmtKey(sb, key);
    sb.append('=');
    if (v == null) {
      sb.append("null");
    } else if ((v instanceof Number || v instanceof Boolean) && !Redactor.isSecretKey(key)) {
      sb.append(v);
    } else {
      Escaping.logfmtValue(sb, text(key, v));
    }
  }
}
