package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Logback encoder writing {@link JsonLayout} lines in UTF-8; for {@code logback.xml}:
 * {@code <encoder class="io.relaymesh.telemetry.log.JsonEncoder"/>} (optional child
 * {@code <maxStackFrames>}).
 */
public class JsonEncoder extends LayoutWrappingEncoder<ILoggingEvent> {

  private final JsonLayout jsonLayout = new JsonLayout();

  public JsonEncoder() {
    setCharset(StandardCharsets.UTF_8);
    setLayout(jsonLayout);
  }

  /** Frames rendered per exception in a chain. */
  public void setMaxStackFrames(int maxStackFrames) {
    jsonLayout.setMaxStackFrames(maxStackFrames);
  }

  @Override
  public void start() {
    jsonLayout.setContext(getContext());
    jsonLayout.start();
    super.start();
  }

  @Override
  public void stop() {
    super.stop();
    jsonLayout.stop();
  }
}
