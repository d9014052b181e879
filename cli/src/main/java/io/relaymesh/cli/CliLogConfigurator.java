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

  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    if (System.getProperty("logback.configurationFile") != null
        || CliLogConfigurator.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
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
    ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(app);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
