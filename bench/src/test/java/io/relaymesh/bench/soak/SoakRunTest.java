package io.relaymesh.bench.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny real soak (2.5 minutes, one SIGTERM restart of the relay) through the real processes. It
 * does not fit `mvn verify`'s time budget (the stack alone starts in about a minute on a loaded
 * 2-core machine), so it runs only with {@code -Drelaymesh.soak.test=true}; `mvn verify` covers the
 * relay restart in {@code RelaymeshPathTest} and the verdicts in {@link TrendTest}.
 */
class SoakRunTest {

  static final Path JAR = Path.of("../cli/target/relaymesh.jar");

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void aShortSoakRecoversFromARelayRestart(@TempDir Path tmp) throws Exception {
    boolean enabled = Boolean.getBoolean("relaymesh.soak.test");
    if (!enabled || !Files.isRegularFile(JAR)) {
      System.err.println("SoakRunTest SKIPPED: " + (enabled ? JAR.toAbsolutePath() + " not built"
          : "a real soak does not fit mvn verify's budget; -Drelaymesh.soak.test=true runs it, bench/run-soak.sh the full one"));
    }
    assumeTrue(enabled && Files.isRegularFile(JAR), "the real soak run is not exercised");
    SoakMain s = new SoakMain();
    s.parse(new String[] {"--minutes", "2.5", "--restart-every", "60", "--gc-every", "20", "--warmup", "30",
        "--jar", JAR.toString(), "--launcher", "../relaymesh", "--out", tmp.resolve("soak.md").toString()});
    try {
      s.run();
    } finally {
      s.stop();
    }
    String report = Files.readString(tmp.resolve("soak.md"));
    assertThat(report).contains("| control plane | heap used after GC |", "| agent | open fds |",
        "| port-forward | live threads |", "| relay #2 |");
    assertThat(s.restarts()).hasSize(1);
    for (String op : SoakMain.OPS) {
      assertThat(s.firstOk(op, s.restarts().get(0))).as("%s after the restart", op).isNotEqualTo("never");
    }
  }
}
