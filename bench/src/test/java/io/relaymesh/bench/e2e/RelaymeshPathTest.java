package io.relaymesh.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny real run of the suite's Relaymesh path: control plane, relay, agent and port-forward as
 * separate processes from the CLI jar (built before this module in the reactor; skipped, and
 * said so, when it is missing), then every workload once, small, then the soak's relay restart
 * (SIGKILL) and an echo through the recovered path. Nothing is timed.
 */
class RelaymeshPathTest {

  static final Path JAR = Path.of("../cli/target/relaymesh.jar");

  @Test
  @Timeout(value = 420, unit = TimeUnit.SECONDS)
  void workloadsRunThroughTheRealProcesses(@TempDir Path tmp) throws Exception {
    if (!Files.isRegularFile(JAR)) {
      System.err.println("RelaymeshPathTest SKIPPED: " + JAR.toAbsolutePath()
          + " not built (mvn -B -q -DskipTests -pl cli -am package)");
    }
    assumeTrue(Files.isRegularFile(JAR), JAR + " not built: the real Relaymesh path is not exercised");
    ServerSocket[] targets = TargetMain.start();
    Path work = Files.createTempDirectory(tmp, "suite");
    try (Procs procs = new Procs(work)) {
      RelaymeshStack rm = new RelaymeshStack(procs, work.resolve("relaymesh"), JAR, null);
      rm.start();
      int echo = targets[0].getLocalPort();
      int sink = targets[1].getLocalPort();
      int source = targets[2].getLocalPort();
      rm.portForward(List.of(echo, sink, source));
      assertThat(rm.forwarded).containsOnlyKeys(echo, sink, source);
      int fwdEcho = rm.forwarded.get(echo);
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) { // the first stream may race the forwarder's first dial
        try {
          Measure.echo(fwdEcho, 0, 3, Long.MAX_VALUE);
          break;
        } catch (IOException e) {
          if (System.nanoTime() > end) {
            throw e;
          }
          Thread.sleep(200);
        }
      }
      assertThat(Measure.echo(fwdEcho, 10, 100, Long.MAX_VALUE)).hasSize(100);
      assertThat(Measure.upload(rm.forwarded.get(sink), 2 << 20, false)).isPositive();
      assertThat(Measure.download(rm.forwarded.get(source), 2 << 20)).isPositive();
      assertThat(Measure.echoUnderBulk(fwdEcho, rm.forwarded.get(source), 0, 20, Long.MAX_VALUE).ns()).hasSize(20);
      Measure.Burst b = Measure.burst(fwdEcho, 50, 60_000_000_000L);
      assertThat(b.failures()).as("%s", b.firstError()).isZero();
      double[] rtt = rm.tunnelRtt();
      assertThat(rtt[1]).as("the relay exports its tunnel RTT timer").isPositive();

      // the soak's relay restart: SIGKILL, same port, token and TLS material; agent and port-forward recover
      long relayPid = rm.relay.pid();
      rm.restartRelay(true);
      assertThat(rm.relay.pid()).isNotEqualTo(relayPid);
      assertThat(ProcessHandle.of(relayPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        try {
          assertThat(Measure.echo(fwdEcho, 0, 10, Long.MAX_VALUE)).hasSize(10);
          break;
        } catch (IOException e) {
          if (System.nanoTime() > end) {
            throw new AssertionError("no echo through the port-forward within 120 s of the relay's restart", e);
          }
          Thread.sleep(500);
        }
      }
      assertThat(rm.metric("relaymesh_relay_agent_tunnels")).as("the agent's tunnel at the new relay").isGreaterThanOrEqualTo(1);
    } finally {
      for (ServerSocket s : targets) {
        s.close();
      }
      try (var files = Files.walk(work)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }
}
