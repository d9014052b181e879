package io.relaymesh.proxy.dial;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LatencyProbe} against real HTTPS servers on 127.0.0.1: a warm-up plus the samples over
 * one connection, trust as for tunnels, refused/untrusted/silent/wrong servers unreachable.
 */
@Timeout(60)
class LatencyProbeTest {
  Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() {
    await(vertx.close());
  }

  HttpServer server(TestCerts certs, AtomicInteger requests, AtomicInteger connections, boolean answer) {
    HttpServer s = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(
            new PemKeyCertOptions().setCertPath(certs.certPem.toString()).setKeyPath(certs.keyPem.toString())))
        .connectionHandler(c -> connections.incrementAndGet())
        .requestHandler(req -> {
          requests.incrementAndGet();
          if (!answer) {
            return; // never answers
          }
          if (req.path().equals(LatencyProbe.PATH)) {
            req.response().end("ok");
          } else {
            req.response().setStatusCode(404).end();
          }
        });
    return await(s.listen(0, "127.0.0.1"));
  }

  @Test
  void measuresOverOneWarmConnectionAndMarksTheUnreachable(@TempDir Path dir) throws Exception {
    TestCerts certs = TestCerts.create(dir, "relay");
    TestCerts other = TestCerts.create(dir, "other");
    AtomicInteger requests = new AtomicInteger();
    AtomicInteger connections = new AtomicInteger();
    HttpServer good = server(certs, requests, connections, true);
    HttpServer silent = server(certs, new AtomicInteger(), new AtomicInteger(), false);
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    RelayCandidate ok = new RelayCandidate("eu", "eu-1", "https://127.0.0.1:" + good.actualPort());
    RelayCandidate wss = new RelayCandidate("eu", "eu-2", "wss://localhost:" + good.actualPort() + "/");
    RelayCandidate refused = new RelayCandidate("us", "us-1", "https://127.0.0.1:" + closed);
    RelayCandidate mute = new RelayCandidate("ap", "ap-1", "https://127.0.0.1:" + silent.actualPort());
    LatencyProbe probe = new LatencyProbe(vertx, DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pemFile(certs.certPem)), 5, Duration.ofSeconds(2));
    List<RelayRtt> m = await(probe.measure(List.of(ok, wss, refused, mute)));

    assertThat(m).extracting(RelayRtt::relay).containsExactly(ok, wss, refused, mute);
    assertThat(m.get(0).reachable()).as(m.get(0).toString()).isTrue();
    assertThat(m.get(0).millis()).isPositive();
    assertThat(m.get(1).reachable()).as(m.get(1).toString()).isTrue();
    assertThat(requests.get()).isEqualTo(2 * 6); // warm-up + 5 samples each
    assertThat(connections.get()).isEqualTo(2); // one connection per relay
    assertThat(m.get(2).reachable()).isFalse();
    assertThat(m.get(2).error()).startsWith("relay https://127.0.0.1:" + closed + "/latency-check: ");
    assertThat(m.get(3).reachable()).isFalse();
    assertThat(m.get(3).error()).contains("did not answer", "2000 ms");
    assertThat(RelayChooser.choose(m, "us-1", null).orElseThrow().relay().key()).isIn("eu-1", "eu-2");

    // the trust of the tunnels applies: another certificate is not trusted; a pin is
    LatencyProbe wrongTrust = new LatencyProbe(vertx, DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pemFile(other.certPem)), 1, Duration.ofSeconds(2));
    assertThat(await(wrongTrust.measure(List.of(ok))).get(0).reachable()).isFalse();
    LatencyProbe pinned = new LatencyProbe(vertx, DialOptions.defaults().withProxy(null)
        .withTrust(TrustSpec.pinnedSha256(TrustSpec.sha256Fingerprint(certs.cert))), 1, Duration.ofSeconds(2));
    assertThat(await(pinned.measure(List.of(ok))).get(0).reachable()).isTrue();

    // a server that is not a relay (404) is unreachable, with the reason
    HttpServer other404 = await(vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(
            new PemKeyCertOptions().setCertPath(certs.certPem.toString()).setKeyPath(certs.keyPem.toString())))
        .requestHandler(req -> req.response().setStatusCode(404).end()).listen(0, "127.0.0.1"));
    RelayCandidate notRelay = new RelayCandidate("eu", "x", "https://127.0.0.1:" + other404.actualPort() + "/");
    RelayRtt r404 = await(probe.measure(List.of(notRelay))).get(0);
    assertThat(r404.reachable()).isFalse();
    assertThat(r404.error()).contains("answered HTTP 404");
    assertThat(LatencyProbe.target(notRelay.publicUrl()).toString()).isEqualTo("https://127.0.0.1:" + other404.actualPort());
    assertThat(LatencyProbe.target("wss://[::1]:8443/x").toString()).isEqualTo("https://[::1]:8443");
    await(good.close());
    await(silent.close());
    await(other404.close());
  }
}
