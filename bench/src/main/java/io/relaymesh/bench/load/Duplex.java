package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * One bidirectional byte stream under test: a TCP socket for the baseline, a tunnel stream for
 * Relaymesh. Both sides are Vert.x streams, so the workloads drive either the same way.
 */
public interface Duplex {

  ReadStream<Buffer> in();

  WriteStream<Buffer> out();

  Future<Void> close();

  /** Opens streams to an echo service: every byte written comes back, in order. */
  interface Dialer {
    Future<Duplex> dial();

    /** Stops what the dialer started (servers, sessions). */
    Future<Void> shutdown();
  }
}
