package io.relaymesh.bench.load;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/** Echo service side: everything read is written back, with back-pressure. */
final class EchoPipe {

  private EchoPipe() {}

  static void echo(ReadStream<Buffer> in, WriteStream<Buffer> out) {
    in.pipeTo(out);
  }
}
