package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** A private logback context whose root writes through {@code encoder} into memory. */
final class Capture {

  final LoggerContext ctx = new LoggerContext();
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  Capture(Encoder<ILoggingEvent> encoder) {
    ctx.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    ctx.start();
    encoder.setContext(ctx);
    encoder.start();
    OutputStreamAppender<ILoggingEvent> app = new OutputStreamAppender<>();
    app.setContext(ctx);
    app.setEncoder(encoder);
    app.setOutputStream(out);
    app.start();
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();
    root.addAppender(app);
    root.setLevel(Level.TRACE);
  }

  Logger logger(String name) {
    return ctx.getLogger(name);
  }

  String text() {
    return out.toString(StandardCharsets.UTF_8);
  }

  List<String> lines() {
    String t = text();
    // every line ends with \n: the last split part is the empty rest after it
    List<String> parts = Arrays.asList(t.split("\n", -1));
    return parts.subList(0, parts.size() - 1);
  }

  /** The one line logged so far, without its newline; fails when there is not exactly one. */
  String line() {
    String t = text();
    if (!t.endsWith("\n") || t.indexOf('\n') != t.length() - 1) {
      throw new AssertionError("expected exactly one line, got: " + t);
    }
    return t.substring(0, t.length() - 1);
  }
}
