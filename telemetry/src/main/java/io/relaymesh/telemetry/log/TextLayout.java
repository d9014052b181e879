package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * The terse line client commands ({@code ssh}, {@code port-forward}, {@code login}, ...) print on
 * the user's terminal: {@code 23:22:33.123 WARN  relay.Foo - message key=value error="..."}, local
 * time. Redacted like the structured layouts; an exception is one {@code error=} field (with
 * {@code stack=} only when {@link #setMaxStackFrames} is above 0: default 0, {@link LogSetup}
 * sets it for {@code --log-level debug}).
 */
public class TextLayout extends FieldLayout {

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  public TextLayout() {
    setMaxStackFrames(0);
  }

  @Override
  public String doLayout(ILoggingEvent e) {
    StringBuilder sb = new StringBuilder(128);
    sb.append(TIME.format(Instant.ofEpochMilli(e.getTimeStamp()).atZone(ZoneId.systemDefault())));
    String level = e.getLevel() == null ? "INFO" : e.getLevel().levelStr;
    sb.append(' ').append(level);
    for (int i = level.length(); i < 5; i++) {
      sb.append(' ');
    }
    sb.append(' ').append(LoggerNames.shorten(e.getLoggerName())).append(" - ");
    String msg = Redactor.redact(e.getFormattedMessage());
    sb.append(msg == null ? "" : msg.replace('\n', ' ').replace('\r', ' '));
    eachField(e, (k, v) -> LogfmtLayout.appendField(sb, k, v));
    IThrowableProxy t = e.getThrowableProxy();
    if (t != null) {
      sb.append(" error=");
      Escaping.logfmtValue(sb, Throwables.summary(t));
      if (getMaxStackFrames() > 0) {
        StringBuilder stack = new StringBuilder(256);
        Throwables.appendCompact(stack, t, getMaxStackFrames());
        sb.append(" stack=");
        Escaping.logfmtValue(sb, stack.toString());
      }
    }
    return sb.append('\n').toString();
  }
}
