package io.relaymesh.telemetry.log;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.io.IOException;
import java.net.SocketException;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LogfmtLayoutTest {

  final Capture cap = new Capture(new LogfmtEncoder());
  final Logger log = cap.logger("io.relaymesh.relay.tunnel.Tunnels");

  @Test
  void fixedFieldsThenPairsInOrder() {
    log.atInfo().setMessage("stream closed").addKeyValue("stream_id", 5)
        .addKeyValue("bytes_in", 123L).addKeyValue("reason", "eof").addKeyValue("ok", true).log();
    assertThat(cap.line()).matches("ts=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z "
        + "level=info logger=relay.tunnel.Tunnels msg=\"stream closed\" stream_id=5 bytes_in=123 "
        + "reason=eof ok=true");
  }

  @Test
  void timestampIsUtcWithMilliseconds() {
    LoggingEvent e = new LoggingEvent("x", log, Level.WARN, "m", null, null);
    e.setTimeStamp(Instant.parse("2026-11-29T23:22:33.007Z").toEpochMilli());
    assertThat(new LogfmtLayout().doLayout(e))
        .startsWith("ts=2026-11-29T23:22:33.007Z level=warn logger=relay.tunnel.Tunnels msg=m\n");
    e.setTimeStamp(Instant.parse("1969-12-31T23:59:59.990Z").toEpochMilli());
    assertThat(new LogfmtLayout().doLayout(e)).startsWith("ts=1969-12-31T23:59:59.990Z ");
    e.setTimeStamp(Instant.parse("2026-01-02T03:04:05Z").toEpochMilli());
    assertThat(new LogfmtLayout().doLayout(e)).startsWith("ts=2026-01-02T03:04:05.000Z ");
  }

  @Test
  void valuesAreQuotedAndEscapedOnlyWhenNeeded() {
    log.atDebug().setMessage("m")
        .addKeyValue("plain", "abc-1.2/x:y")
        .addKeyValue("space", "a b")
        .addKeyValue("quote", "say \"hi\"")
        .addKeyValue("eq", "a=b")
        .addKeyValue("nl", "line1\nline2\r\tend")
        .addKeyValue("ctl", "a\u0001b\u007fc\u0085")
        .addKeyValue("backslash", "C:\\dir")
        .addKeyValue("qbackslash", "a \\ b")
        .addKeyValue("empty", "")
        .addKeyValue("nul", (Object) null)
        .addKeyValue("uni", "héllo✓日本😀")
        .addKeyValue("nbsp", "a\u00a0b")
        .addKeyValue("ls", "a\u2028b")
        .addKeyValue("lone", "a\ud800b")
        .log();
    assertThat(cap.line()).endsWith(" level=debug logger=relay.tunnel.Tunnels msg=m plain=abc-1.2/x:y "
        + "space=\"a b\" quote=\"say \\\"hi\\\"\" eq=\"a=b\" nl=\"line1\\nline2\\r\\tend\" "
        + "ctl=\"a\\u0001b\\u007fc\\u0085\" backslash=C:\\dir qbackslash=\"a \\\\ b\" empty=\"\" "
        + "nul=null uni=héllo✓日本😀 nbsp=\"a\u00a0b\" ls=\"a\\u2028b\" lone=\"a\\ufffdb\"");
  }

  @Test
  void keysAreSanitizedAndFixedFieldNamesRenamed() {
    log.atInfo().setMessage("m").addKeyValue("bad key=\"x\"", 1).addKeyValue("msg", "other")
        .addKeyValue("level", 2).addKeyValue("", 3).log();
    assertThat(cap.line()).endsWith(" msg=m bad_key__x_=1 kv_msg=other kv_level=2 _=3");
  }

  @Test
  void messageWithArgumentsAndMdc() {
    cap.ctx.getMDCAdapter().put("tunnel_id", "t-9");
    cap.ctx.getMDCAdapter().put("region", "eu");
    try {
      log.atInfo().setMessage("agent {} connected").addArgument("main")
          .addKeyValue("region", "us").log();
    } finally {
      cap.ctx.getMDCAdapter().clear();
    }
    String line = cap.line();
    assertThat(line).contains(" msg=\"agent main connected\" region=us tunnel_id=t-9");
    assertThat(line).doesNotContain("region=eu");
  }

  @Test
  void anExceptionStaysOnOneLine() {
    IOException e = new IOException("read failed: \"x\"", new SocketException("connection reset"));
    log.error("tunnel lost", e);
    String line = cap.line();
    assertThat(line).contains(" msg=\"tunnel lost\" error=\"java.io.IOException: read failed: \\\"x\\\"\" stack=\"")
        .contains("LogfmtLayoutTest.anExceptionStaysOnOneLine(LogfmtLayoutTest.java:")
        .contains(" | caused by: java.net.SocketException: connection reset | ")
        .contains(" more");
    assertThat(line).doesNotContain("\n").doesNotContain("\tat ");
  }

  @Test
  void stackFramesAreBounded() {
    LogfmtEncoder enc = new LogfmtEncoder();
    enc.setMaxStackFrames(2);
    Capture c = new Capture(enc);
    c.logger("x").warn("w", new IllegalStateException());
    String stack = c.line().replaceAll(".* stack=\"(.*)\"$", "$1");
    assertThat(stack.split(" \\| ")).hasSize(3);
    assertThat(stack).matches(".*\\| \\.\\.\\. \\d+ more");
    assertThat(c.line()).contains(" error=java.lang.IllegalStateException ");

    LogfmtEncoder none = new LogfmtEncoder();
    none.setMaxStackFrames(0);
    Capture c0 = new Capture(none);
    c0.logger("x").warn("w", new IllegalStateException("bad"));
    assertThat(c0.line()).endsWith(" msg=w error=\"java.lang.IllegalStateException: bad\"");
  }

  @Test
  void secretsAreRedactedInMessageValuesAndErrors() {
    String t = RedactorTest.token("rma_");
    String j = RedactorTest.jws();
    log.atWarn().setMessage("refused agent token " + t).addKeyValue("password", "hunter2")
        .addKeyValue("header", "Authorization: Bearer " + t)
        .addKeyValue("ticket_jws", j)
        .addKeyValue("relay_token", 4_817_305_926L)
        .setCause(new IllegalArgumentException("bad ticket " + j)).log();
    String line = cap.line();
    assertThat(line).doesNotContain(t.substring(4)).doesNotContain(j).doesNotContain("hunter2")
        .doesNotContain("4817305926");
    assertThat(line).contains("msg=\"refused agent token rma_[redacted]\"",
        "password=[redacted]", "header=\"Authorization: Bearer [redacted]\"",
        "ticket_jws=[redacted]", "relay_token=[redacted]",
        "error=\"java.lang.IllegalArgumentException: bad ticket [redacted]\"");
  }

  @Test
  void loggerNames() {
    assertThat(LoggerNames.compute("io.relaymesh.agent.Agent")).isEqualTo("agent.Agent");
    assertThat(LoggerNames.compute("relay.tunnel")).isEqualTo("relay.tunnel");
    assertThat(LoggerNames.compute("io.netty.channel.DefaultChannelPipeline"))
        .isEqualTo("io.netty.channel.DefaultChannelPipeline");
    assertThat(LoggerNames.compute("io.netty.handler.codec.http2.Http2ConnectionHandler"))
        .isEqualTo("i.n.h.codec.http2.Http2ConnectionHandler").hasSizeLessThanOrEqualTo(40);
    assertThat(LoggerNames.compute("org.example.AVeryLongClassNameThatAloneIsLongerThanForty"))
        .isEqualTo("o.e.AVeryLongClassNameThatAloneIsLongerThanForty");
    assertThat(LoggerNames.shorten(Logger.ROOT_LOGGER_NAME)).isEqualTo("ROOT");
  }

  @Test
  void aToStringThatThrowsDoesNotLoseTheLine() {
    Object bad = new Object() {
      @Override
      public String toString() {
        throw new IllegalStateException("boom");
      }
    };
    log.atInfo().setMessage("m").addKeyValue("v", bad).log();
    assertThat(cap.line()).endsWith(" v=\"[toString failed: java.lang.IllegalStateException]\"");
  }

  @Test
  void encoderIsUsableFromLogbackXml() throws Exception {
    LoggerContext ctx = new LoggerContext();
    ch.qos.logback.classic.joran.JoranConfigurator jc = new ch.qos.logback.classic.joran.JoranConfigurator();
    jc.setContext(ctx);
    jc.doConfigure(new java.io.ByteArrayInputStream(("<configuration><appender name='A' "
        + "class='ch.qos.logback.core.ConsoleAppender'><encoder class='"
        + LogfmtEncoder.class.getName() + "'><maxStackFrames>3</maxStackFrames></encoder>"
        + "</appender><root level='INFO'><appender-ref ref='A'/></root></configuration>")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(ctx.getStatusManager().getCopyOfStatusList())
        .noneMatch(s -> s.getLevel() >= ch.qos.logback.core.status.Status.WARN);
    var app = (ch.qos.logback.core.ConsoleAppender<?>) ctx.getLogger("ROOT").getAppender("A");
    assertThat(app.getEncoder()).isInstanceOf(LogfmtEncoder.class);
    assertThat(app.isStarted()).isTrue();
  }
}
