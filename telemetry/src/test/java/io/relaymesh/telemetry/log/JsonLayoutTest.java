package io.relaymesh.telemetry.log;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.SocketException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JsonLayoutTest {

  final Capture cap = new Capture(new JsonEncoder());
  final Logger log = cap.logger("io.relaymesh.relay.tunnel.Tunnels");

  JsonObject only() {
    return new JsonObject(cap.line());
  }

  @Test
  void flatObjectWithNumbersAsNumbers() {
    long before = System.currentTimeMillis();
    log.atInfo().setMessage("stream closed").addKeyValue("stream_id", 5)
        .addKeyValue("bytes_in", 123L).addKeyValue("short", (short) 7)
        .addKeyValue("big", new BigInteger("123456789012345678901234567890"))
        .addKeyValue("dec", new BigDecimal("0.25")).addKeyValue("ratio", 0.5d)
        .addKeyValue("f", 1.5f).addKeyValue("nan", Double.NaN)
        .addKeyValue("inf", Float.POSITIVE_INFINITY).addKeyValue("ok", false)
        .addKeyValue("none", (Object) null).addKeyValue("duration", Duration.ofMillis(1500))
        .addKeyValue("kind", "ssh").log();
    String line = cap.line();
    assertThat(line).startsWith("{\"ts\":\"").endsWith("}");
    JsonObject o = new JsonObject(line);
    assertThat(o.fieldNames()).containsExactly("ts", "level", "logger", "msg", "stream_id",
        "bytes_in", "short", "big", "dec", "ratio", "f", "nan", "inf", "ok", "none", "duration",
        "kind");
    assertThat(o.getString("level")).isEqualTo("info");
    assertThat(o.getString("logger")).isEqualTo("relay.tunnel.Tunnels");
    assertThat(o.getString("msg")).isEqualTo("stream closed");
    assertThat(o.getValue("stream_id")).isEqualTo(5);
    assertThat(o.getValue("bytes_in")).isInstanceOf(Number.class);
    assertThat(o.getLong("bytes_in")).isEqualTo(123L);
    assertThat(o.getInteger("short")).isEqualTo(7);
    assertThat(o.getValue("big").toString()).isEqualTo("123456789012345678901234567890");
    assertThat(o.getDouble("dec")).isEqualTo(0.25);
    assertThat(o.getDouble("ratio")).isEqualTo(0.5);
    assertThat(o.getDouble("f")).isEqualTo(1.5);
    assertThat(o.getValue("nan")).isEqualTo("NaN");
    assertThat(o.getValue("inf")).isEqualTo("Infinity");
    assertThat(o.getValue("ok")).isEqualTo(false);
    assertThat(o.containsKey("none")).isTrue();
    assertThat(o.getValue("none")).isNull();
    assertThat(o.getValue("duration")).isEqualTo("PT1.5S");
    long ts = Instant.parse(o.getString("ts")).toEpochMilli();
    assertThat(ts).isBetween(before, System.currentTimeMillis());
    assertThat(o.getString("ts")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
  }

  @Test
  void everyCharacterRoundTrips() {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x800; c++) {
      if (!Character.isSurrogate(c)) {
        all.append(c);
      }
    }
    all.append("\u2028\u2029\ufeff\uffff😀 \"quoted\" back\\slash /slash");
    String s = all.toString();
    log.atInfo().setMessage(s).addKeyValue(s, s).log();
    String line = cap.line();
    assertThat(line).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u2028");
    JsonObject o = new JsonObject(line);
    assertThat(o.getString("msg")).isEqualTo(s);
    assertThat(o.getString(s)).isEqualTo(s);
  }

  @Test
  void randomStringsRoundTrip() {
    Random r = new Random(11);
    for (int i = 0; i < 2000; i++) {
      char[] cs = new char[r.nextInt(20)];
      for (int j = 0; j < cs.length; j++) {
        cs[j] = (char) (r.nextBoolean() ? r.nextInt(0x100) : r.nextInt(0x10000));
      }
      String s = new String(cs);
      Capture c = new Capture(new JsonEncoder());
      c.logger("t").atInfo().setMessage("m").addKeyValue("v", s).log();
      JsonObject o = new JsonObject(c.line());
      // lone surrogates become U+FFFD; everything else comes back as it was
      assertThat(o.getString("v")).isEqualTo(withoutLoneSurrogates(s));
    }
  }

  static String withoutLoneSurrogates(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        sb.append(c).append(s.charAt(++i));
      } else {
        sb.append(Character.isSurrogate(c) ? '\ufffd' : c);
      }
    }
    return sb.toString();
  }

  @Test
  void exceptionIsAnObjectWithItsCauses() {
    log.atError().setMessage("tunnel lost")
        .setCause(new IOException("read failed", new SocketException("connection reset"))).log();
    JsonObject o = only();
    assertThat(o.getString("level")).isEqualTo("error");
    JsonObject err = o.getJsonObject("error");
    assertThat(err.getString("type")).isEqualTo("java.io.IOException");
    assertThat(err.getString("message")).isEqualTo("read failed");
    JsonArray stack = err.getJsonArray("stack");
    assertThat(stack.getString(0)).startsWith(
        "io.relaymesh.telemetry.log.JsonLayoutTest.exceptionIsAnObjectWithItsCauses(JsonLayoutTest.java:");
    assertThat(stack.size()).isLessThanOrEqualTo(FieldLayout.DEFAULT_MAX_STACK_FRAMES + 1);
    JsonObject cause = err.getJsonObject("cause");
    assertThat(cause.getString("type")).isEqualTo("java.net.SocketException");
    assertThat(cause.getString("message")).isEqualTo("connection reset");
    assertThat(cause.containsKey("cause")).isFalse();
    // frames shared with the enclosing exception are not repeated
    assertThat(cause.getJsonArray("stack").getString(cause.getJsonArray("stack").size() - 1))
        .matches("\\.\\.\\. \\d+ more");
  }

  @Test
  void aCauseCycleEnds() {
    IllegalStateException a = new IllegalStateException("a");
    IllegalArgumentException b = new IllegalArgumentException("b", a);
    a.initCause(b);
    log.error("cycle", a);
    JsonObject o = only();
    assertThat(o.getJsonObject("error").getString("message")).isEqualTo("a");
  }

  @Test
  void secretsAreRedacted() {
    String t = RedactorTest.token("rms_");
    String j = RedactorTest.jws();
    cap.ctx.getMDCAdapter().put("session_token", t);
    cap.ctx.getMDCAdapter().put("note", "Bearer " + t);
    try {
      log.atWarn().setMessage("login with password=hunter2 and " + j)
          .addKeyValue("authorization", "Basic dXNlcjpwYXNz").addKeyValue("token", 4_817_305_926L)
          .addKeyValue("url", "postgresql://u:pw123456@db/x")
          .setCause(new SecurityException("token " + t + " revoked")).log();
    } finally {
      cap.ctx.getMDCAdapter().clear();
    }
    String line = cap.line();
    assertThat(line).doesNotContain(t.substring(4)).doesNotContain(j).doesNotContain("hunter2")
        .doesNotContain("dXNlcjpwYXNz").doesNotContain("pw123456").doesNotContain("4817305926");
    JsonObject o = new JsonObject(line);
    assertThat(o.getString("msg")).isEqualTo("login with password=[redacted] and [redacted]");
    assertThat(o.getString("authorization")).isEqualTo("[redacted]");
    assertThat(o.getString("token")).isEqualTo("[redacted]");
    assertThat(o.getString("url")).isEqualTo("postgresql://u:[redacted]@db/x");
    assertThat(o.getString("session_token")).isEqualTo("[redacted]");
    assertThat(o.getString("note")).isEqualTo("Bearer rms_[redacted]");
    assertThat(o.getJsonObject("error").getString("message")).isEqualTo("token rms_[redacted] revoked");
  }

  @Test
  void manyLinesAreManyObjects() {
    for (int i = 0; i < 100; i++) {
      log.atInfo().setMessage("line\n" + i).addKeyValue("i", i).log();
    }
    List<String> lines = cap.lines();
    assertThat(lines).hasSize(100);
    for (int i = 0; i < 100; i++) {
      assertThat(new JsonObject(lines.get(i)).getInteger("i")).isEqualTo(i);
    }
  }
}
