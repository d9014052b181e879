package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.ConsoleAppender;
import io.relaymesh.cli.CliRunner.Result;
import io.relaymesh.telemetry.log.JsonEncoder;
import io.relaymesh.telemetry.log.LogSetup;
import io.relaymesh.telemetry.log.LogfmtEncoder;
import io.relaymesh.telemetry.log.TextEncoder;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The global {@code --log-format} / {@code --log-level} options and their environment variables:
 * the real {@code relaymesh server} in a child JVM with {@code --log-format json} writes only JSON
 * objects on stderr (start-up, a login, shutdown) and never the admin password; in-process runs
 * check which encoder and levels each kind of command gets and the errors for bad values.
 */
@Timeout(180)
class LoggingTest {

  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");

  @AfterEach
  void restore() {
    LogSetup.apply(null, null);
  }

  /**
   * The start-up configuration in code and {@code logback.xml} say the same: effective levels of
   * our loggers, the quiet libraries and the Vert.x pool-eviction logger (whose "Connection
   * evicted" WARN on every closed pooled connection showed up on ssh's stderr during a relay
   * restart).
   */
  @Test
  void theCodeConfigurationAndLogbackXmlAgree() throws Exception {
    LoggerContext code = new LoggerContext();
    CliLogConfigurator.setUp(code);
    LoggerContext xml = new LoggerContext();
    ch.qos.logback.classic.joran.JoranConfigurator j = new ch.qos.logback.classic.joran.JoranConfigurator();
    j.setContext(xml);
    j.doConfigure(Main.class.getClassLoader().getResource("logback.xml"));
    try {
      for (String name : List.of("io.relaymesh.relay.X", "io.vertx.core.X", "io.netty.X",
          "org.flywaydb.X", "io.zonky.X", "com.example.X", CliLogConfigurator.EVICTION_LOGGER)) {
        assertThat(code.getLogger(name).getEffectiveLevel()).as(name)
            .isEqualTo(xml.getLogger(name).getEffectiveLevel());
      }
      assertThat(code.getLogger(CliLogConfigurator.EVICTION_LOGGER).isEnabledFor(Level.WARN))
          .isFalse();
      assertThat(code.getLogger("io.vertx.core.http.impl.HttpClientImpl").isEnabledFor(Level.WARN))
          .isTrue();
    } finally {
      code.stop();
      xml.stop();
    }
  }

  @Test
  void serverWithJsonFormatLogsOneJsonObjectPerLine(@TempDir Path tmp) throws Exception {
    String password = "correct horse battery staple 42";
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "--log-format", "json",
        "--log-level", "info",
        "server", "--data-dir", tmp.resolve("data").toString(), "--listen", "127.0.0.1:0",
        "--no-builtin-relay", "--create-admin", "root", "--password-stdin"));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("RELAYMESH_LOG_FORMAT");
    pb.environment().remove("RELAYMESH_LOG_LEVEL");
    Process p = pb.start();
    List<String> err = new CopyOnWriteArrayList<>();
    Thread errReader = new Thread(() -> new BufferedReader(new InputStreamReader(
        p.getErrorStream(), StandardCharsets.UTF_8)).lines().forEach(err::add));
    errReader.setDaemon(true);
    errReader.start();
    List<String> out = new ArrayList<>();
    try {
      try (OutputStream in = p.getOutputStream()) {
        in.write((password + "\n").getBytes(StandardCharsets.UTF_8));
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8));
      String url = null;
      for (String line; url == null && (line = r.readLine()) != null; ) {
        out.add(line);
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          url = m.group(1);
        }
      }
      assertThat(url).as("server output:\n%s\nstderr:\n%s", out, err).isNotNull();
      // a login and a failed login, so that the server has requests to handle
      CliRunner cli = new CliRunner(tmp.resolve("config"));
      Result bad = cli.run("wrong password\n", "login", url, "-u", "root", "--password-stdin");
      assertThat(bad.exit()).as(bad.toString()).isNotZero();
      Result ok = cli.run(password + "\n", "login", url, "-u", "root", "--password-stdin");
      assertThat(ok.exit()).as(ok.toString()).isZero();
    } finally {
      // SIGTERM: shutdown hooks stop the server and PostgreSQL, which log too (Process.destroy
      // would also close our end of stderr)
      p.toHandle().destroy();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("server stopped").isTrue();
      errReader.join(10_000);
    }
    assertThat(err).as("stderr").isNotEmpty();
    List<JsonObject> events = new ArrayList<>();
    for (String line : err) {
      JsonObject o;
      try {
        o = new JsonObject(line);
      } catch (RuntimeException e) {
        throw new AssertionError("not a JSON object: " + line + "\nall stderr:\n"
            + String.join("\n", err), e);
      }
      assertThat(o.fieldNames()).as(line).startsWith("ts", "level", "logger", "msg");
      assertThat(o.getString("ts")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
      assertThat(o.getString("level")).isIn("trace", "debug", "info", "warn", "error");
      events.add(o);
    }
    assertThat(events).anySatisfy(o -> {
      assertThat(o.getString("logger")).isEqualTo("control.ControlServer");
      assertThat(o.getString("msg")).startsWith("control plane listening on http://127.0.0.1:");
    });
    assertThat(events).as("shutdown is logged").anySatisfy(o ->
        assertThat(o.getString("msg")).startsWith("embedded PostgreSQL stopped"));
    assertThat(String.join("\n", err)).doesNotContain(password).doesNotContain("horse battery");
  }

  @Test
  void serviceCommandsGetTheStructuredFormatClientCommandsTerseText(@TempDir Path tmp) {
    CliRunner cli = new CliRunner(tmp);
    Level configured = level("io.relaymesh");
    // relay --help prints and exits: logging is configured before that, nothing starts
    Result r = cli.run(null, "--log-format", "json", "--log-level", "debug,io.netty=info",
        "relay", "--help");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(encoder()).isInstanceOf(JsonEncoder.class);
    assertThat(level("io.relaymesh")).isEqualTo(Level.DEBUG);
    assertThat(level("io.netty")).isEqualTo(Level.INFO);

    // the options may also follow the command
    r = cli.run(null, "relay", "--help", "--log-format", "json", "--log-level", "warn");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(encoder()).isInstanceOf(JsonEncoder.class);
    assertThat(level("io.relaymesh")).isEqualTo(Level.WARN);
    assertThat(level("io.netty")).as("the previous run's per-logger level is undone").isNull();

    // the default for a service is logfmt at the configured levels (logback.xml: info)
    r = cli.run(null, "relay", "--help");
    assertThat(encoder()).isInstanceOf(LogfmtEncoder.class);
    assertThat(level("io.relaymesh")).isEqualTo(configured);

    // the environment, when no option is given
    r = cli.runWithEnv(Map.of("RELAYMESH_LOG_FORMAT", "JSON", "RELAYMESH_LOG_LEVEL", "error"), null,
        "agent", "--help");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(encoder()).isInstanceOf(JsonEncoder.class);
    assertThat(level("io.relaymesh")).isEqualTo(Level.ERROR);
    r = cli.runWithEnv(Map.of("RELAYMESH_LOG_FORMAT", "json"), null,
        "--log-format", "logfmt", "dev", "--help");
    assertThat(encoder()).as("the option wins").isInstanceOf(LogfmtEncoder.class);

    // client commands: terse text on the user's terminal, even with RELAYMESH_LOG_FORMAT set
    r = cli.runWithEnv(Map.of("RELAYMESH_LOG_FORMAT", "json"), null, "whoami");
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(encoder()).isInstanceOf(TextEncoder.class);
    assertThat(level("io.relaymesh")).isEqualTo(configured);
    // ... unless asked for explicitly
    r = cli.run(null, "whoami", "--log-format", "json");
    assertThat(encoder()).isInstanceOf(JsonEncoder.class);
  }

  @Test
  void badValuesNameTheAllowedOnes(@TempDir Path tmp) {
    CliRunner cli = new CliRunner(tmp);
    Result r = cli.run(null, "--log-format", "xml", "relay");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("relaymesh: --log-format: unknown log format 'xml' (allowed: "
        + "logfmt, json) (see 'relaymesh --help')\n");
    r = cli.runWithEnv(Map.of("RELAYMESH_LOG_FORMAT", "yaml"), null, "server");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("relaymesh: RELAYMESH_LOG_FORMAT: unknown log format 'yaml' "
        + "(allowed: logfmt, json)");
    r = cli.run(null, "agent", "--log-level", "loud");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("relaymesh: --log-level: unknown log level 'loud' (allowed: "
        + "trace, debug, info, warn, error, off)");
    r = cli.runWithEnv(Map.of("RELAYMESH_LOG_LEVEL", "verbose"), null, "workspaces", "list");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("relaymesh: RELAYMESH_LOG_LEVEL: unknown log level 'verbose'");
  }

  private static LoggerContext ctx() {
    return (LoggerContext) LoggerFactory.getILoggerFactory();
  }

  private static Object encoder() {
    Logger root = ctx().getLogger(Logger.ROOT_LOGGER_NAME);
    return ((ConsoleAppender<?>) root.getAppender(LogSetup.APPENDER)).getEncoder();
  }

  private static Level level(String logger) {
    return ctx().getLogger(logger).getLevel();
  }
}
