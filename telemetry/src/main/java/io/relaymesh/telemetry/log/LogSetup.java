package io.relaymesh.telemetry.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Applies the chosen log format and levels to logback at start-up, before any component runs:
 * the console appender(s) of the root logger are replaced by one on stderr with the chosen
 * encoder (other appenders, such as files of a custom configuration, are left alone), and levels
 * are set. Does nothing (returns false) when logback is not the SLF4J backend. Calling it again
 * (in-process tests run several commands) first restores the levels it changed before.
 */
public final class LogSetup {

  /** The name of the console appender this installs (and of the one {@code logback.xml} defines). */
  public static final String APPENDER = "STDERR";

  /** The configured level of each logger this changed (null: inherited), restored on the next call. */
  private static final Map<String, Level> original = new HashMap<>();
  private static final Object LOCK = new Object();
  private static volatile boolean levelsGiven;

  private LogSetup() {}

  /** Whether the last {@link #apply} was given levels (so commands keep them as they are). */
  public static boolean levelsGiven() {
    return levelsGiven;
  }

  /**
   * @param format the structured format, or null for the terse text lines of client commands
   * @param levels the level setting, or null to keep the levels of the logback configuration
   *               ({@code logback.xml}: {@code io.relaymesh} at info, third-party libraries at
   *               warn)
   */
  public static boolean apply(LogFormat format, LogLevels levels) {
    ILoggerFactory f = LoggerFactory.getILoggerFactory();
    if (!(f instanceof LoggerContext ctx)) {
      return false;
    }
    synchronized (LOCK) {
      Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
      ConsoleAppender<ILoggingEvent> app = new ConsoleAppender<>();
      app.setContext(ctx);
      app.setName(APPENDER);
      app.setTarget("System.err");
      Encoder<ILoggingEvent> enc;
      if (format != null) {
        enc = format.encoder();
      } else {
        TextEncoder text = new TextEncoder();
        if (levels != null && levels.relaymesh() != null
            && !levels.relaymesh().isGreaterOrEqual(Level.INFO)) {
          text.setMaxStackFrames(FieldLayout.DEFAULT_MAX_STACK_FRAMES); // debug: stacks too
        }
        enc = text;
      }
      enc.setContext(ctx);
      enc.start();
      app.setEncoder(enc);
      app.start();
      List<Appender<ILoggingEvent>> old = new ArrayList<>();
      for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
        Appender<ILoggingEvent> a = it.next();
        if (a instanceof ConsoleAppender<?>) {
          old.add(a);
        }
      }
      root.addAppender(app);
      for (Appender<ILoggingEvent> a : old) {
        root.detachAppender(a);
        a.stop();
      }
      original.forEach((name, level) -> ctx.getLogger(name).setLevel(level));
      original.clear();
      levelsGiven = levels != null;
      if (levels != null) {
        if (levels.relaymesh() != null) {
          Level base = levels.relaymesh();
          set(ctx, "io.relaymesh", base);
          // third-party libraries keep their configured levels unless named, or asked to be
          // quieter than that
          if (base.isGreaterOrEqual(Level.ERROR)) {
            set(ctx, Logger.ROOT_LOGGER_NAME, base);
          }
        }
        levels.loggers().forEach((name, level) -> set(ctx, name, level));
      }
      return true;
    }
  }

  private static void set(LoggerContext ctx, String name, Level level) {
    Logger logger = ctx.getLogger(name);
    if (!original.containsKey(name)) {
      original.put(name, logger.getLevel());
    }
    logger.setLevel(level);
  }
}
