package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.WriteStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large bodies through {@link AppForwarder} never sit in memory: a 512 MiB download (chunked)
 * and a 512 MiB upload (content-length over HTTP/1.1, no length over HTTP/2), each from an
 * HTTP/1.1 and an HTTP/2 browser, generated on the fly and checksummed at the other end,
 * while a sampler watches the JVM's used heap after forced collections (browser, front, relay,
 * agent and app all live in this JVM, so anything buffered anywhere would show).
 */
@ExtendWith(SharedPostgres.class)
@Timeout(300)
class AppForwarderStreamingTest {

  static final long SIZE = 512L * 1024 * 1024;
  static final int CHUNK = 64 * 1024;
  static final long HEAP_BOUND = 128L * 1024 * 1024;
  static final byte[] BLOCK = new byte[CHUNK];

  static {
    new Random(11).nextBytes(BLOCK);
  }

  @TempDir
  static Path dir;
  static AppForwarderFixture fx;
  static AppForwarderFixture.App app;

  @BeforeAll
  static void start() {
    fx = new AppForwarderFixture(dir, 8, Duration.ofSeconds(30), Duration.ofSeconds(60));
    app = fx.app(false, AppForwarderStreamingTest::serve);
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  /** Chunk {@code i} of the generated body: the block with {@code i} in its first 8 bytes. */
  static Buffer chunk(long i) {
    Buffer b = Buffer.buffer(BLOCK.clone());
    b.setLong(0, i);
    return b;
  }

  static String expectedDigest() throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (long i = 0; i < SIZE / CHUNK; i++) {
      md.update(chunk(i).getBytes());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Writes the generated body to {@code w} honouring its back-pressure; on its context. */
  static Future<Void> generate(WriteStream<Buffer> w) {
    Promise<Void> done = Promise.promise();
    long[] next = {0};
    pump(w, next, done);
    return done.future();
  }

  private static void pump(WriteStream<Buffer> w, long[] next, Promise<Void> done) {
    long total = SIZE / CHUNK;
    while (next[0] < total && !w.writeQueueFull()) {
      w.write(chunk(next[0]++));
    }
    if (next[0] >= total) {
      w.drainHandler(null);
      done.tryComplete();
    } else {
      w.drainHandler(v -> pump(w, next, done));
    }
  }

  static void serve(HttpServerRequest req) {
    if (req.path().equals("/download")) {
      req.response().setChunked(true);
      generate(req.response()).onSuccess(v -> req.response().end());
      return;
    }
    MessageDigest md = sha256();
    AtomicLong n = new AtomicLong();
    req.handler(b -> {
      md.update(b.getBytes());
      n.addAndGet(b.length());
    });
    req.endHandler(v -> req.response().end(n.get() + " " + HexFormat.of().formatHex(md.digest())));
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Samples the used heap after a full collection every 500 ms. */
  static final class HeapSampler implements AutoCloseable {
    final long baseline;
    volatile long peak;
    private volatile boolean running = true;
    private final Thread thread;

    HeapSampler() {
      baseline = usedAfterGc();
      peak = baseline;
      thread = new Thread(() -> {
        while (running) {
          peak = Math.max(peak, usedAfterGc());
          try {
            Thread.sleep(500);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "heap-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    static long usedAfterGc() {
      System.gc();
      Runtime rt = Runtime.getRuntime();
      return rt.totalMemory() - rt.freeMemory();
    }

    long growth() {
      return peak - baseline;
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.interrupt();
      thread.join(5000);
    }
  }

  @Test
  void largeDownloadStreamsWithFlatHeap() throws Exception {
    download(false);
  }

  @Test
  void largeHttp2DownloadStreamsWithFlatHeap() throws Exception {
    download(true);
  }

  private void download(boolean http2) throws Exception {
    String expected = expectedDigest();
    HttpClient c = fx.client(http2);
    try (HeapSampler heap = new HeapSampler()) {
      MessageDigest md = sha256();
      AtomicLong n = new AtomicLong();
      int status = await(c.request(new RequestOptions().setURI("/download")
              .putHeader("x-app-port", String.valueOf(app.port())))
          .compose(HttpClientRequest::send)
          .compose(r -> {
            Promise<Integer> done = Promise.promise();
            r.handler(b -> {
              md.update(b.getBytes());
              n.addAndGet(b.length());
            });
            r.endHandler(v -> done.complete(r.statusCode()));
            r.exceptionHandler(done::tryFail);
            return done.future();
          }), 120);
      assertThat(status).isEqualTo(200);
      assertThat(n.get()).isEqualTo(SIZE);
      assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(expected);
      org.slf4j.LoggerFactory.getLogger(AppForwarderStreamingTest.class).info(
          "peak used heap {} MiB above the baseline", heap.growth() >> 20);
      assertThat(heap.growth()).as("peak used heap above the baseline, bytes")
          .isLessThan(HEAP_BOUND);
    } finally {
      c.close();
    }
  }

  @Test
  void largeUploadStreamsWithFlatHeap() throws Exception {
    upload(false);
  }

  /** HTTP/2 without content-length: sent upstream chunked. */
  @Test
  void largeHttp2UploadStreamsWithFlatHeap() throws Exception {
    upload(true);
  }

  private void upload(boolean http2) throws Exception {
    String expected = expectedDigest();
    HttpClient c = fx.client(http2);
    Context ctx = fx.vertx.getOrCreateContext();
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.POST).setURI("/upload")
        .putHeader("x-app-port", String.valueOf(app.port()));
    if (!http2) {
      o.putHeader("content-length", String.valueOf(SIZE));
    }
    try (HeapSampler heap = new HeapSampler()) {
      Promise<String> answer = Promise.promise();
      ctx.runOnContext(v -> c.request(o)
          .onFailure(answer::tryFail)
          .onSuccess(req -> {
            req.response().compose(r -> r.body()).map(Buffer::toString).onComplete(answer);
            if (http2) {
              req.setChunked(true); // no length: the relay sends it to the app chunked
            }
            generate(req).onSuccess(x -> req.end());
          }));
      String got = await(answer.future(), 120);
      assertThat(got).isEqualTo(SIZE + " " + expected);
      org.slf4j.LoggerFactory.getLogger(AppForwarderStreamingTest.class).info(
          "peak used heap {} MiB above the baseline", heap.growth() >> 20);
      assertThat(heap.growth()).as("peak used heap above the baseline, bytes")
          .isLessThan(HEAP_BOUND);
    } finally {
      c.close();
    }
  }
}
