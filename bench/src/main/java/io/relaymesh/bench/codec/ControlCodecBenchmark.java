package io.relaymesh.bench.codec;

import io.relaymesh.proxy.wire.FrameReader;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.MessageBuilder;
import io.relaymesh.proxy.wire.ProtocolException;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Control frame codec throughput and allocation (WINDOW_UPDATE, OPEN with a 13-byte target and
 * 47 bytes of JSON metadata). Encode: one frame into a {@link MessageBuilder} and
 * {@code build()}; decode: per frame, over a message of {@link #FRAMES_PER_MESSAGE} frames.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class ControlCodecBenchmark {

  static final int FRAMES_PER_MESSAGE = 64;
  static final String TARGET = "10.1.2.3:5432";

  private Buffer metadata;
  private Buffer windowUpdateMessage;
  private Buffer openMessage;
  private FrameReader reader;
  /** One per session in the proxy, reused for every message: so here too. */
  private final MessageBuilder builder = new MessageBuilder();
  private BlackholeListener listener;

  @Setup
  public void setup(Blackhole bh) {
    metadata = Buffer.buffer("{\"ticket\":\"t-0123456789abcdef\",\"user\":\"alice\"}");
    reader = new FrameReader(WireSpec.DEFAULT_MAX_FRAME_SIZE, WireSpec.DEFAULT_MAX_OPEN_SIZE);
    listener = new BlackholeListener(bh);
    windowUpdateMessage = Buffer.buffer();
    openMessage = Buffer.buffer();
    for (int i = 0; i < FRAMES_PER_MESSAGE; i++) {
      FrameWriter.windowUpdate(windowUpdateMessage, 2 * i + 1, 65536 + i);
      FrameWriter.open(openMessage, 2 * i + 1, WireSpec.KIND_TCP, TARGET, metadata);
    }
  }

  @Benchmark
  public Buffer encodeWindowUpdate() {
    MessageBuilder mb = builder;
    FrameWriter.windowUpdate(mb.control(), 1, 65536);
    mb.appended();
    return mb.build();
  }

  @Benchmark
  public Buffer encodeOpen() {
    MessageBuilder mb = builder;
    FrameWriter.open(mb.control(), 1, WireSpec.KIND_TCP, TARGET, metadata);
    mb.appended();
    return mb.build();
  }

  @Benchmark
  @OperationsPerInvocation(FRAMES_PER_MESSAGE)
  public int decodeWindowUpdate() throws ProtocolException {
    return reader.read(windowUpdateMessage, listener);
  }

  @Benchmark
  @OperationsPerInvocation(FRAMES_PER_MESSAGE)
  public int decodeOpen() throws ProtocolException {
    return reader.read(openMessage, listener);
  }
}
