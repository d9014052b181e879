package io.relaymesh.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import io.relaymesh.telemetry.log.LogSetup;
import io.relaymesh.telemetry.log.LogfmtEncoder;

/**
 * The CLI's start-up logback configuration, what {@code logback.xml} in this module says, set up
 * in code: parsing the XML (an XML parser and logback's configuration model) took a tenth of the
 * start of {@code ssh --stdio}. Keep the two the same. A {@code -Dlogback.configurationFile} or a
 * {@code logback-test.xml} on the class path is honoured (this configurator then steps aside).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class CliLogConfigurator extends ContextAwareBase implements Configurator {
  /** The Vert.x logger of HTTP client pool evictions (kept the same in logback.xml). */
  static final String EVICTION_LOGGER = "io.vertx.core.http.impl.HttpClientConnectionInternal";

  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    if (System.getProperty("logback.configurationFile") != null
        || CliLogConfigurator.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    setUp(ctx);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** What {@code logback.xml} says, in {@code ctx}. */
  static void setUp(LoggerContext ctx) {
    LevelChangePropagator jul = new LevelChangePropagator();
    jul.setContext(ctx);
    jul.setResetJUL(true);
    jul.start();
    ctx.addListener(jul);

    ConsoleAppender<ILoggingEvent> app = new ConsoleAppender<>();
    app.setContext(ctx);
    app.setName(LogSetup.APPENDER);
    app.setTarget("System.err");
    LogfmtEncoder enc = new LogfmtEncoder();
    enc.setContext(ctx);
    enc.start();
    app.setEncoder(enc);
    app.start();

    ctx.getLogger("io.relaymesh").setLevel(Level.INFO);
    for (String quiet : new String[] {"org.flywaydb", "io.zonky", "io.netty", "io.vertx"}) {
      ctx.getLogger(quiet).setLevel(Level.WARN);
    }
    // "Connection evicted" at WARN whenever a pooled HTTP client connection closes (a relay or
    // the control plane restarting): expected, and noise next to a command's own message
    ctx.getLogger(EVICTION_LOGGER).setLevel(Level.ERROR);
    ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(app);
  }
}
