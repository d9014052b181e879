package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Logback encoder writing {@link LogfmtLayout} lines in UTF-8; for {@code logback.xml}:
 * {@code <encoder class="io.relaymesh.telemetry.log.LogfmtEncoder"/>} (optional child
 * {@code <maxStackFrames>}).
 */
public class LogfmtEncoder extends LayoutWrappingEncoder<ILoggingEvent> {

  private final LogfmtLayout logfmtLayout = new LogfmtLayout();

  public LogfmtEncoder() {
    setCharset(StandardCharsets.UTF_8);
    setLayout(logfmtLayout);
  }

  /** Frames rendered per exception in a chain. */
  public void setMaxStackFrames(int maxStackFrames) {
    logfmtLayout.setMaxStackFrames(maxStackFrames);
  }

  @Override
  public void start() {
    logfmtLayout.setContext(getContext());
    logfmtLayout.start();
    super.start();
  }

  @Override
  public void stop() {
    super.stop();
    logfmtLayout.stop();
  }
}
