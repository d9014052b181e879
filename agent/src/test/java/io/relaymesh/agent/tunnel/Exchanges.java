package io.relaymesh.agent.tunnel;

import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;

/** Test helpers: open a stream on a relay-side session, send bytes, collect the reply. */
final class Exchanges {
  private Exchanges() {}

  /** Opens {@code kind target}, writes {@code data}, ends, and completes with all bytes read until the peer's FIN. */
  static Future<Buffer> exchange(Session session, int kind, String target, Buffer data) {
    Promise<Buffer> result = Promise.promise();
    session.context().runOnContext(v -> session.open(kind, target, Buffer.buffer("{\"user\":\"alice\",\"connectionId\":\"c-1\"}"))
        .onFailure(result::tryFail)
        .onSuccess(stream -> {
          Buffer got = Buffer.buffer();
          stream.handler(got::appendBuffer);
          stream.endHandler(x -> result.tryComplete(got));
          stream.exceptionHandler(result::tryFail);
          writeAll(stream, data, 0);
        }));
    return result.future();
  }

  private static void writeAll(Stream stream, Buffer data, int from) {
    int chunk = 16 * 1024;
    int pos = from;
    while (pos < data.length()) {
      stream.write(data.slice(pos, Math.min(data.length(), pos + chunk)));
      pos += chunk;
      if (stream.writeQueueFull()) {
        int next = pos;
        stream.drainHandler(v -> writeAll(stream, data, next));
        return;
      }
    }
    stream.end();
  }

  static Buffer random(long seed, int size) {
    byte[] b = new byte[size];
    new java.util.Random(seed).nextBytes(b);
    return Buffer.buffer(b);
  }
}
