package io.relaymesh.relay.authz;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * The relay's log lines (logger {@code io.relaymesh.relay} and below, INFO and up) as they are
 * appended, through a logback {@link ListAppender}: what an operator would read, rendered with
 * the message, its key/value pairs and any exception, so that a test can count the lines a
 * refusal produced and check that no credential is in them.
 */
final class LogCapture implements AutoCloseable {

  static final String RELAY_LOGGER = "io.relaymesh.relay";

  private final Logger logger = (Logger) LoggerFactory.getLogger(RELAY_LOGGER);
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  LogCapture() {
    appender.setContext(logger.getLoggerContext());
    appender.setName("authz-matrix-capture");
    appender.start();
    logger.addAppender(appender);
  }

  /** Forgets the lines captured so far. */
  void clear() {
    synchronized (appender.list) {
      appender.list.clear();
    }
  }

  /** The lines captured since the last {@link #clear}, rendered. */
  List<String> lines() {
    List<ILoggingEvent> events;
    synchronized (appender.list) {
      events = List.copyOf(appender.list);
    }
    return events.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO))
        .map(LogCapture::render).collect(Collectors.toList());
  }

  static String render(ILoggingEvent e) {
    StringBuilder b = new StringBuilder().append(e.getLevel()).append(' ')
        .append(e.getLoggerName()).append(" - ").append(e.getFormattedMessage());
    List<KeyValuePair> kvs = e.getKeyValuePairs();
    if (kvs != null) {
      for (KeyValuePair kv : kvs) {
        b.append(' ').append(kv.key).append('=').append(kv.value);
      }
    }
    if (e.getThrowableProxy() != null) {
      b.append('\n').append(ThrowableProxyUtil.asString(e.getThrowableProxy()));
    }
    return b.toString();
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
  }
}
