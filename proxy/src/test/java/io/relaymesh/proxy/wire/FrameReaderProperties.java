package io.relaymesh.proxy.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Fuzzing the decoder: it only ever throws its own {@link ProtocolException}. */
class FrameReaderProperties {
  private final FrameReader reader = new FrameReader(4096, 2048);

  /** A frame description that the writer can encode. */
  record Spec(int type, int streamId, int size, long value) {}

  @Property(tries = 2000)
  void arbitraryBytesNeverThrowAnythingElse(@ForAll @Size(max = 512) byte[] bytes) {
    decodeSafely(Buffer.buffer(bytes));
  }

  @Property(tries = 1000)
  void mutatedValidMessagesNeverThrowAnythingElse(@ForAll("frames") List<Spec> frames,
      @ForAll @IntRange(min = 0, max = 100000) int position,
      @ForAll byte replacement, @ForAll @IntRange(min = 0, max = 3) int mutation) {
    Buffer valid = encode(frames);
    if (valid.length() == 0) {
      return;
    }
    int pos = position % valid.length();
    Buffer mutated;
    switch (mutation) {
      case 0:
        mutated = valid.copy().setByte(pos, replacement);
        break;
      case 1:
        mutated = valid.slice(0, pos); // truncated
        break;
      case 2:
        mutated = valid.copy().setInt(Math.min(pos, valid.length() - 4), replacement << 24);
        break;
      default:
        mutated = Buffer.buffer().appendBuffer(valid, 0, pos).appendByte(replacement)
            .appendBuffer(valid, pos, valid.length() - pos);
    }
    decodeSafely(mutated);
  }

  @Property(tries = 500)
  void writerOutputDecodesToTheSameFrames(@ForAll("frames") List<Spec> frames) throws Exception {
    RecordingListener l = new RecordingListener();
    int n = reader.read(encode(frames), l);
    assertThat(n).isEqualTo(frames.size());
    List<String> expected = new ArrayList<>();
    for (Spec f : frames) {
      expected.add(describe(f));
    }
    assertThat(l.events).isEqualTo(expected);
  }

  private void decodeSafely(Buffer b) {
    try {
      reader.read(b, new RecordingListener());
    } catch (ProtocolException expected) {
      assertThat(expected.code()).isNotNull();
    }
  }

  @Provide
  Arbitrary<List<Spec>> frames() {
    return Combinators.combine(
            Arbitraries.integers().between(0, 8),
            Arbitraries.integers().between(1, Integer.MAX_VALUE),
            Arbitraries.integers().between(0, 600),
            Arbitraries.longs())
        .as(Spec::new).list().ofMaxSize(12);
  }

  private static String payload(Spec f) {
    return "p".repeat(f.size() % 100);
  }

  private static Buffer encode(List<Spec> frames) {
    Buffer b = Buffer.buffer();
    for (Spec f : frames) {
      int id = f.streamId();
      switch (f.type()) {
        case 0: FrameWriter.data(b, id, Buffer.buffer(payload(f))); break;
        case 1: FrameWriter.open(b, id, f.size() & 0xFF, "t" + f.size(), Buffer.buffer(payload(f))); break;
        case 2: FrameWriter.windowUpdate(b, id, 1 + (f.value() & 0x3FFF_FFFFL)); break;
        case 3: FrameWriter.reset(b, id, f.value() & 0xFFFF_FFFFL, payload(f)); break;
        case 4: FrameWriter.fin(b, id); break;
        case 5: FrameWriter.ping(b, f.value()); break;
        case 6: FrameWriter.goAway(b, id, f.value() & 0xFFFF_FFFFL, payload(f)); break;
        case 7: FrameWriter.settings(b, new Settings(f.value() & 0x7FFF_FFFFL, 1024 + f.size(), f.size(), -1)); break;
        default: FrameWriter.header(b, 0x40 + (f.size() & 0x3F), 0, id, f.size()).appendBytes(new byte[f.size()]);
      }
    }
    return b;
  }

  private static String describe(Spec f) {
    int id = f.streamId();
    switch (f.type()) {
      case 0: return "DATA " + id + " " + payload(f);
      case 1: return "OPEN " + id + " " + (f.size() & 0xFF) + " t" + f.size() + " " + payload(f);
      case 2: return "WINDOW_UPDATE " + id + " " + (1 + (f.value() & 0x3FFF_FFFFL));
      case 3: {
        long code = f.value() & 0xFFFF_FFFFL;
        return "RESET " + id + " " + ErrorCode.of(code) + " " + code + " " + payload(f);
      }
      case 4: return "FIN " + id;
      case 5: return "PING " + f.value();
      case 6: return "GOAWAY " + id + " " + ErrorCode.of(f.value() & 0xFFFF_FFFFL) + " " + payload(f);
      case 7: return "SETTINGS " + (f.value() & 0x7FFF_FFFFL) + " " + (1024 + f.size()) + " " + f.size() + " -1";
      default: return "UNKNOWN " + (0x40 + (f.size() & 0x3F)) + " " + id + " " + f.size();
    }
  }
}
