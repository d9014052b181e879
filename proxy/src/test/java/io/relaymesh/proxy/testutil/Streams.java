package io.relaymesh.proxy.testutil;

import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;

/** Stream behaviours used by tests. All methods run on the session's context. */
public final class Streams {
  private Streams() {}

  /** Server open handler: accept and echo every byte back, FIN after the peer's FIN. */
  public static Handler<Stream> echo() {
    return s -> s.accept().onSuccess(st -> st.pipeTo(st));
  }

  /** Opens a stream, writes {@code data} (in chunks, with back-pressure), ends, collects. */
  public static Future<Buffer> exchange(Session session, Buffer data) {
    return exchange(session, "echo", data);
  }

  /** Like {@link #exchange(Session, Buffer)} with a given OPEN target. */
  public static Future<Buffer> exchange(Session session, String target, Buffer data) {
    return Await.on(session.context(), () -> session.open(WireSpec.KIND_TCP, target, null)
        .compose(s -> {
          Promise<Buffer> done = Promise.promise();
          Buffer received = Buffer.buffer(data.length());
          s.handler(received::appendBuffer);
          s.endHandler(v -> done.tryComplete(received));
          s.exceptionHandler(done::tryFail);
          pump(s, data, 0, 16 * 1024).onFailure(done::tryFail);
          return done.future();
        }));
  }

  /** Writes {@code data} from {@code offset} in slices, honouring writeQueueFull, then ends. */
  public static Future<Void> pump(Stream s, Buffer data, int offset, int chunk) {
    Promise<Void> p = Promise.promise();
    pumpLoop(s, data, new int[] {offset}, chunk, p);
    return p.future();
  }

  private static void pumpLoop(Stream s, Buffer data, int[] pos, int chunk, Promise<Void> p) {
    while (pos[0] < data.length()) {
      int end = Math.min(data.length(), pos[0] + chunk);
      s.write(data.slice(pos[0], end)).onFailure(p::tryFail);
      pos[0] = end;
      if (s.writeQueueFull()) {
        s.drainHandler(v -> pumpLoop(s, data, pos, chunk, p));
        return;
      }
    }
    s.drainHandler(null);
    s.end().onComplete(p);
  }

  /** Writes {@code total} bytes of {@code chunk} repeated, honouring back-pressure, then ends. */
  public static Future<Void> generate(Stream s, Buffer chunk, long total) {
    Promise<Void> p = Promise.promise();
    generateLoop(s, chunk, new long[] {total}, p);
    return p.future();
  }

  private static void generateLoop(Stream s, Buffer chunk, long[] left, Promise<Void> p) {
    while (left[0] > 0) {
      int n = (int) Math.min(chunk.length(), left[0]);
      s.write(n == chunk.length() ? chunk : chunk.slice(0, n)).onFailure(p::tryFail);
      left[0] -= n;
      if (s.writeQueueFull()) {
        s.drainHandler(v -> generateLoop(s, chunk, left, p));
        return;
      }
    }
    s.drainHandler(null);
    s.end().onComplete(p);
  }

  public static Buffer random(long seed, int size) {
    byte[] b = new byte[size];
    new java.util.Random(seed).nextBytes(b);
    return Buffer.buffer(b);
  }
}
