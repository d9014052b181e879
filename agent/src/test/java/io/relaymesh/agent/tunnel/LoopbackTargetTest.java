package io.relaymesh.agent.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LoopbackTargetTest {

  @Test
  void acceptsExactlyLoopbackWithAPort() {
    assertThat(LoopbackTarget.parse("127.0.0.1:5432")).isEqualTo(new LoopbackTarget("127.0.0.1", 5432));
    assertThat(LoopbackTarget.parse("[::1]:22")).isEqualTo(new LoopbackTarget("::1", 22));
    assertThat(LoopbackTarget.parse("127.0.0.1:65535").port()).isEqualTo(65535);
    assertThat(LoopbackTarget.parse("[::1]:8080").toString()).isEqualTo("[::1]:8080");
  }

  @Test
  void refusesEverythingElseWithAReason() {
    for (String t : new String[] {"localhost:22", "10.0.0.1:22", "127.0.0.2:22", "127.1:22", "0177.0.0.1:22",
        "::1:22", "[::ffff:127.0.0.1]:22", "127.0.0.1", "127.0.0.1.evil.com:22", " 127.0.0.1:22"}) {
      assertThatThrownBy(() -> LoopbackTarget.parse(t)).as(t)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a loopback address");
    }
    for (String t : new String[] {"127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:022", "127.0.0.1:+22",
        "127.0.0.1:22 ", "127.0.0.1:22/x", "[::1]:-1", "127.0.0.1:9999999999"}) {
      assertThatThrownBy(() -> LoopbackTarget.parse(t)).as(t)
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid port");
    }
    assertThatThrownBy(() -> LoopbackTarget.parse("")).hasMessageContaining("no target");
  }
}
