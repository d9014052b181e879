package io.relaymesh.bench.micro;

import io.relaymesh.relay.control.AgentAuthCache;
import io.relaymesh.relay.control.AgentIdentity;
import io.relaymesh.relay.control.ControlClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The relay's agent-token cache hit ({@link AgentAuthCache#authenticate} of a token it accepted
 * within its TTL): the path of every agent (re)connection after the first. The setup answers
 * the one miss with a stub control plane on a loopback port.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AgentAuthCacheBenchmark {

  private static final String TOKEN = "rma_" + "0123456789abcdef".repeat(3);

  private Vertx vertx;
  private HttpServer server;
  private ControlClient control;
  private AgentAuthCache cache;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b ->
        req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("agentId", 13).put("agent", "main")
                .put("workspace", "dev").put("owner", "alice").put("fullName", "alice/dev")
                .encode())))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    control = new ControlClient(vertx, "http://127.0.0.1:" + server.actualPort(), "relay-token",
        Duration.ofSeconds(5));
    cache = new AgentAuthCache(control, Duration.ofHours(1), Duration.ofSeconds(5));
    AgentIdentity who = cache.authenticate(TOKEN).await(10, TimeUnit.SECONDS);
    if (who.agentId() != 13) {
      throw new IllegalStateException("unexpected " + who);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    control.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Benchmark
  public Future<AgentIdentity> hit() {
    return cache.authenticate(TOKEN);
  }
}
