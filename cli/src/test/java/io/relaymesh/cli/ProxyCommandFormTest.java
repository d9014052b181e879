package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ProxyCommand form {@code ssh --stdio [--region R] HOST}, run without picocli. */
class ProxyCommandFormTest {

  @Test
  void onlyTheExactProxyCommandFormsAreRecognised() {
    SshCommand c = SshCommand.proxyCommandForm("ssh", "--stdio", "relaymesh.dev");
    assertThat(c.stdio).isTrue();
    assertThat(c.workspace).isEqualTo("relaymesh.dev");
    assertThat(c.region).isNull();
    c = SshCommand.proxyCommandForm("ssh", "--stdio", "--region", "eu", "relaymesh.alice/dev");
    assertThat(c.region).isEqualTo("eu");
    assertThat(c.workspace).isEqualTo("relaymesh.alice/dev");

    assertThat(SshCommand.proxyCommandForm("ssh", "dev")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio", "--help")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio", "")).isNull();
    assertThat(SshCommand.proxyCommandForm("--verbose", "ssh", "--stdio", "dev")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio", "dev", "--verbose")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio", "--region", "--x", "dev")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--stdio", "--zone", "eu", "dev")).isNull();
    assertThat(SshCommand.proxyCommandForm("ssh", "--region", "eu", "--stdio", "dev")).isNull();
    assertThat(SshCommand.proxyCommandForm("port-forward", "--stdio", "dev")).isNull();
  }

  @Test
  void errorsReadAsPicocliPrintsThem(@TempDir Path dir) {
    Map<String, String> vars = Map.of("RELAYMESH_CONFIG_DIR", dir.toString());
    String quick = run(vars, "ssh", "--stdio", "relaymesh.dev");
    String picocli = run(vars, "ssh", "--stdio", "relaymesh.dev", "--verbose");
    assertThat(quick).startsWith("exit 1\nrelaymesh: not logged in (no " + dir.resolve("credentials.json"));
    assertThat(picocli).startsWith(quick.strip()); // --verbose adds the stack trace
    // a log level picocli rejects is left to picocli
    assertThat(run(Map.of("RELAYMESH_CONFIG_DIR", dir.toString(), "RELAYMESH_LOG_LEVEL", "loud"),
        "ssh", "--stdio", "relaymesh.dev")).startsWith("exit 2\nrelaymesh: RELAYMESH_LOG_LEVEL: ");
  }

  static String run(Map<String, String> vars, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Env env = new Env(vars, new ByteArrayInputStream(new byte[0]),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), null);
    int code = Main.run(env, args);
    return "exit " + code + "\n" + err.toString(StandardCharsets.UTF_8) + out.toString(StandardCharsets.UTF_8);
  }
}
