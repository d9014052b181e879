package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Logback encoder writing {@link TextLayout} lines in UTF-8; for {@code logback.xml}:
 * {@code <encoder class="io.relaymesh.telemetry.log.TextEncoder"/>} (optional child
 * {@code <maxStackFrames>}).
 */
public class TextEncoder extends LayoutWrappingEncoder<ILoggingEvent> {

  private final TextLayout textLayout = new TextLayout();

  public TextEncoder() {
    setCharset(StandardCharsets.UTF_8);
    setLayout(textLayout);
  }

  /** Frames rendered per exception in a chain. */
  public void setMaxStackFrames(int maxStackFrames) {
    textLayout.setMaxStackFrames(maxStackFrames);
  }

  @Override
  public void start() {
    textLayout.setContext(getContext());
    textLayout.start();
    super.start();
  }

  @Override
  public void stop() {
    super.stop();
    textLayout.stop();
  }
}
