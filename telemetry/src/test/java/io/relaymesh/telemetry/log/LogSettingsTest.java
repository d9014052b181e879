package io.relaymesh.telemetry.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.ConsoleAppender;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LogSettingsTest {

  @AfterEach
  void defaults() {
    LogSetup.apply(LogFormat.LOGFMT, null);
  }

  @Test
  void formats() {
    assertThat(LogFormat.parse("json")).isEqualTo(LogFormat.JSON);
    assertThat(LogFormat.parse(" LOGFMT ")).isEqualTo(LogFormat.LOGFMT);
    assertThatThrownBy(() -> LogFormat.parse("xml")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown log format 'xml' (allowed: logfmt, json)");
    assertThatThrownBy(() -> LogFormat.parse(null)).hasMessageContaining("allowed: logfmt, json");
  }

  @Test
  void levels() {
    assertThat(LogLevels.parse("debug")).isEqualTo(new LogLevels(Level.DEBUG, Map.of()));
    LogLevels l = LogLevels.parse("Info, io.relaymesh.relay=trace ,io.netty=info");
    assertThat(l.relaymesh()).isEqualTo(Level.INFO);
    assertThat(l.loggers()).containsEntry("io.relaymesh.relay", Level.TRACE)
        .containsEntry("io.netty", Level.INFO);
    assertThat(LogLevels.parse("io.vertx=debug").relaymesh()).isNull();
    assertThatThrownBy(() -> LogLevels.parse("loud"))
        .hasMessage("unknown log level 'loud' (allowed: trace, debug, info, warn, error, off)");
    assertThatThrownBy(() -> LogLevels.parse("info,io.netty=verbose"))
        .hasMessageContaining("'verbose'").hasMessageContaining("allowed: trace, debug");
    assertThatThrownBy(() -> LogLevels.parse("info,debug")).hasMessageContaining("two levels");
    assertThatThrownBy(() -> LogLevels.parse(" ")).hasMessageContaining("allowed");
    assertThatThrownBy(() -> LogLevels.parse("a b=info")).hasMessageContaining("bad logger name");
  }

  @Test
  void setupReplacesTheConsoleEncoderAndLevelsAndUndoesThemNextTime() {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    Level configuredRoot = root.getLevel();
    Level configuredOurs = ctx.getLogger("io.relaymesh").getLevel();
    Level configuredNetty = ctx.getLogger("io.netty").getLevel();
    assertThat(configuredNetty).isNotEqualTo(Level.INFO);

    assertThat(LogSetup.apply(LogFormat.JSON, LogLevels.parse("debug,io.netty=info"))).isTrue();
    ConsoleAppender<?> app = (ConsoleAppender<?>) root.getAppender(LogSetup.APPENDER);
    assertThat(app.getEncoder()).isInstanceOf(JsonEncoder.class);
    assertThat(app.isStarted()).isTrue();
    assertThat(consoleAppenders(root)).isEqualTo(1);
    assertThat(ctx.getLogger("io.relaymesh").getLevel()).isEqualTo(Level.DEBUG);
    assertThat(ctx.getLogger("io.netty").getLevel()).isEqualTo(Level.INFO);
    assertThat(root.getLevel()).isEqualTo(configuredRoot);

    assertThat(LogSetup.apply(null, LogLevels.parse("error"))).isTrue();
    ConsoleAppender<?> text = (ConsoleAppender<?>) root.getAppender(LogSetup.APPENDER);
    assertThat(text.getEncoder()).isInstanceOf(TextEncoder.class);
    assertThat(((TextLayout) ((TextEncoder) text.getEncoder()).getLayout()).getMaxStackFrames())
        .isZero();
    assertThat(app.isStarted()).as("the replaced appender is stopped").isFalse();
    assertThat(consoleAppenders(root)).isEqualTo(1);
    assertThat(ctx.getLogger("io.netty").getLevel()).as("restored").isEqualTo(configuredNetty);
    assertThat(ctx.getLogger("io.relaymesh").getLevel()).isEqualTo(Level.ERROR);
    assertThat(root.getLevel()).as("error quiets libraries too").isEqualTo(Level.ERROR);

    LogSetup.apply(null, LogLevels.parse("debug"));
    ConsoleAppender<?> debugText = (ConsoleAppender<?>) root.getAppender(LogSetup.APPENDER);
    assertThat(((TextLayout) ((TextEncoder) debugText.getEncoder()).getLayout())
        .getMaxStackFrames()).as("stacks at debug").isPositive();

    // no level setting: the configuration's levels
    assertThat(LogSetup.apply(LogFormat.LOGFMT, null)).isTrue();
    assertThat(ctx.getLogger("io.relaymesh").getLevel()).isEqualTo(configuredOurs);
    assertThat(root.getLevel()).isEqualTo(configuredRoot);
    assertThat(root.getAppender(LogSetup.APPENDER)).extracting(a -> ((ConsoleAppender<?>) a).getEncoder())
        .isInstanceOf(LogfmtEncoder.class);
  }

  private static int consoleAppenders(Logger root) {
    int n = 0;
    for (var it = root.iteratorForAppenders(); it.hasNext(); ) {
      n += it.next() instanceof ConsoleAppender<?> ? 1 : 0;
    }
    return n;
  }
}
