package io.relaymesh.telemetry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class TextLayoutTest {

  @Test
  void terseLineForTheUsersTerminal() {
    Capture cap = new Capture(new TextEncoder());
    String t = RedactorTest.token("rms_");
    cap.logger("io.relaymesh.cli.ClientTunnel").atWarn()
        .setMessage("relay eu-1 unreachable\nwith session " + t).addKeyValue("reason", "timed out")
        .setCause(new IOException("connect timed out")).log();
    assertThat(cap.line()).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  cli\\.ClientTunnel - relay "
        + "eu-1 unreachable with session rms_\\[redacted\\] reason=\"timed out\" "
        + "error=\"java.io.IOException: connect timed out\"");
  }

  @Test
  void stackOnlyWhenAsked() {
    TextEncoder enc = new TextEncoder();
    enc.setMaxStackFrames(3);
    Capture cap = new Capture(enc);
    cap.logger("x").error("failed", new IllegalStateException("bad"));
    assertThat(cap.line()).contains(" ERROR x - failed error=\"java.lang.IllegalStateException: bad\" "
        + "stack=\"io.relaymesh.telemetry.log.TextLayoutTest.stackOnlyWhenAsked(");
  }
}
