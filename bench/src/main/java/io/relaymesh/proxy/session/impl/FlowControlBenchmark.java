package io.relaymesh.proxy.session.impl;

import io.relaymesh.proxy.wire.MessageBuilder;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-frame cost of the stream flow-control accounting (package-private {@link ReceiveWindow}
 * and {@link SendQueue}; this class sits in their package on the benchmark classpath). Run with
 * {@code -prof gc} for {@code gc.alloc.rate.norm}, bytes per op. One op is one write of
 * {@code size} bytes:
 *
 * <ul>
 *   <li>{@code receive}: {@code admits} + {@code received} + {@code consumed} (the receive side of
 *       one DATA frame, including the WINDOW_UPDATE decision every half window);
 *   <li>{@code sendAddEmit}: {@code add} of the write, {@code emit} into a reused
 *       {@link MessageBuilder}, {@code grant} of the same bytes back (the peer's WINDOW_UPDATE),
 *       and {@code build()} (what {@code Outbound} does once per message);
 *   <li>{@code sendAddEmitNoBuild}: the same without {@code build()}, which is the
 *       MessageBuilder's cost and not the queue's (the builder is reset every 64 writes).
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FlowControlBenchmark {

  @Param({"64", "16384"})
  public int size;

  private static final LongPredicate ALWAYS = d -> true;

  private ReceiveWindow rx;
  private SendQueue tx;
  private final MessageBuilder builder = new MessageBuilder();
  private Buffer payload;
  private long now;
  private int pending;

  @Setup
  public void setup() {
    rx = new ReceiveWindow(WireSpec.DEFAULT_INITIAL_WINDOW, 0);
    tx = new SendQueue(WireSpec.DEFAULT_INITIAL_WINDOW);
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31 + 7);
    }
    payload = Buffer.buffer(bytes);
  }

  @Benchmark
  public long receive() {
    int n = size;
    if (!rx.admits(n)) {
      throw new IllegalStateException("no credit");
    }
    rx.received(n);
    // 1 µs per frame and a 1 ms RTT: the window grows to the maximum, then stays there
    now += 1_000;
    return rx.consumed(n, false, now, 1_000_000, 16L * 1024 * 1024, ALWAYS);
  }

  @Benchmark
  public Buffer sendAddEmit() {
    tx.add(payload);
    long sent = tx.emit(1, builder, WireSpec.DEFAULT_MAX_FRAME_SIZE, Integer.MAX_VALUE);
    tx.grant(sent);
    return builder.build();
  }

  @Benchmark
  public long sendAddEmitNoBuild() {
    tx.add(payload);
    long sent = tx.emit(1, builder, WireSpec.DEFAULT_MAX_FRAME_SIZE, Integer.MAX_VALUE);
    tx.grant(sent);
    if (++pending == 64) {
      pending = 0;
      builder.build();
    }
    return sent;
  }
}
