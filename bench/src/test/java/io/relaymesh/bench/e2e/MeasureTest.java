package io.relaymesh.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The workloads against the target services directly (they complete and count what they did), and
 * through a path that corrupts one byte: the content checks must fail it instead of scoring it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MeasureTest {

  private ServerSocket[] targets;
  private ServerSocket proxy;

  @BeforeEach
  void start() throws IOException {
    targets = TargetMain.start();
  }

  @AfterEach
  void stop() throws IOException {
    for (ServerSocket s : targets) {
      s.close();
    }
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void workloadsCompleteDirectly() throws Exception {
    assertThat(Measure.upload(targets[1].getLocalPort(), 3 << 20, false)).isPositive();
    assertThat(Measure.upload(targets[1].getLocalPort(), 1 << 20, true)).as("half-close").isPositive();
    assertThat(Measure.download(targets[2].getLocalPort(), (3 << 20) + 17)).isPositive();
    assertThat(Measure.echo(targets[0].getLocalPort(), 10, 200, Long.MAX_VALUE)).hasSize(200);
    assertThat(java.util.Arrays.stream(Measure.firstEcho(targets[0].getLocalPort(), 2, 5, Long.MAX_VALUE))).hasSize(5).allMatch(ns -> ns > 0);
    Measure.Loaded l = Measure.echoUnderBulk(targets[0].getLocalPort(), targets[2].getLocalPort(), 5, 50,
        Long.MAX_VALUE);
    assertThat(l.ns()).hasSize(50);
    assertThat(l.bulkMBps()).isPositive();
    Measure.Burst b = Measure.burst(targets[0].getLocalPort(), 100, 30_000_000_000L);
    assertThat(b.failures()).as("%s", b.firstError()).isZero();
    assertThat(b.firstEchoNs()).hasSize(100);
  }

  @Test
  void aPathThatCorruptsAByteFails() throws Exception {
    int echo = corrupting(targets[0].getLocalPort());
    assertThatThrownBy(() -> Measure.echo(echo, 0, 10, Long.MAX_VALUE)).isInstanceOf(IOException.class)
        .hasMessageContaining("came back different");
    Measure.Burst b = Measure.burst(echo, 20, 30_000_000_000L);
    assertThat(b.failures()).isEqualTo(20);
    assertThat(b.firstError()).contains("came back different");
    proxy.close();
    int source = corrupting(targets[2].getLocalPort());
    assertThatThrownBy(() -> Measure.download(source, 1 << 20)).isInstanceOf(IOException.class)
        .hasMessageContaining("crc mismatch: true");
    proxy.close();
    int sink = corrupting(targets[1].getLocalPort());
    assertThatThrownBy(() -> Measure.upload(sink, 1 << 20, false)).isInstanceOf(IOException.class)
        .hasMessageContaining("the sink got");
  }

  /**
   * A forwarder to {@code port} that flips byte 19 of what the client sends and byte 1,000 of
   * what comes back (the same position both ways would restore an echo).
   */
  private int corrupting(int port) throws IOException {
    proxy = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
    ServerSocket server = proxy;
    Thread t = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket c = server.accept();
          Socket u = new Socket(InetAddress.getLoopbackAddress(), port);
          pump(c, u, 19);
          pump(u, c, 1000);
        } catch (IOException e) {
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
    return proxy.getLocalPort();
  }

  private static void pump(Socket from, Socket to, long flip) {
    Thread t = new Thread(() -> {
      try (from; to) {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        byte[] buf = new byte[8192];
        long pos = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
          if (pos <= flip && pos + n > flip) {
            buf[(int) (flip - pos)] ^= 1;
          }
          pos += n;
          out.write(buf, 0, n);
        }
      } catch (IOException e) {
        // closed
      }
    });
    t.setDaemon(true);
    t.start();
  }
}
