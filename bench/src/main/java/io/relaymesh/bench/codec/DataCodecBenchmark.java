package io.relaymesh.bench.codec;

import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.MessageBuilder;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * DATA frame codec throughput and allocation (run with {@code -prof gc} for
 * {@code gc.alloc.rate.norm}, bytes per op). Every op is one frame: the decode benchmarks use
 * {@link OperationsPerInvocation} over a message of {@link #FRAMES_PER_MESSAGE} frames.
 *
 * <ul>
 *   <li>{@code encodeData}: one DATA frame of {@code size} bytes through {@link MessageBuilder}
 *       and {@code build()} (the session's path: payloads >= 1 KiB are referenced, not copied);
 *   <li>{@code encodeDataCopy}: the same frame copied with {@link FrameWriter#data} into a new
 *       buffer (what the zero-copy path avoids);
 *   <li>{@code decode*}: {@link FrameReader#read} of a prebuilt message into a listener that
 *       hands everything to a {@link Blackhole}.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class DataCodecBenchmark {

  static final int FRAMES_PER_MESSAGE = 64;

  @Param({"64", "16384", "65536"})
  public int size;

  private Buffer payload;
  private Buffer dataMessage;
  private FrameReader reader;
  /** One per session in the proxy, reused for every message: so here too. */
  private final MessageBuilder builder = new MessageBuilder();
  private BlackholeListener listener;

  @Setup
  public void setup(Blackhole bh) {
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31 + 7);
    }
    payload = Buffer.buffer(bytes);
    reader = new FrameReader(WireSpec.DEFAULT_MAX_FRAME_SIZE, WireSpec.DEFAULT_MAX_OPEN_SIZE);
    listener = new BlackholeListener(bh);
    // messages as a peer's MessageBuilder sends them: FRAMES_PER_MESSAGE frames each
    dataMessage = Buffer.buffer();
    for (int i = 0; i < FRAMES_PER_MESSAGE; i++) {
      FrameWriter.data(dataMessage, 2 * i + 1, payload);
    }
  }

  // ---- encode ----------------------------------------------------------------------------

  @Benchmark
  public Buffer encodeData() {
    MessageBuilder mb = builder;
    mb.data(1, payload);
    return mb.build();
  }

  @Benchmark
  public Buffer encodeDataCopy() {
    return FrameWriter.data(Buffer.buffer(WireSpec.HEADER_SIZE + size), 1, payload);
  }

  // ---- decode (per frame) ----------------------------------------------------------------

  @Benchmark
  @OperationsPerInvocation(FRAMES_PER_MESSAGE)
  public int decodeData() throws ProtocolException {
    return reader.read(dataMessage, listener);
  }
}
