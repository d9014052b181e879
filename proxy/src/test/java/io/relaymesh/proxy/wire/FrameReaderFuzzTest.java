package io.relaymesh.proxy.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Coverage-guided fuzzing of the frame decoder (docs/fuzzing.md). In {@code mvn verify} Jazzer
 * only replays the inputs under {@code FrameReaderFuzzTestInputs/<method>/}; with
 * {@code JAZZER_FUZZ=1} it mutates new ones.
 */
class FrameReaderFuzzTest {
  /** Small limits, so that the fuzzer reaches the size checks with small inputs. */
  private static final int MAX_FRAME = 4096;
  private static final int MAX_OPEN = 2048;
  private final FrameReader reader = new FrameReader(MAX_FRAME, MAX_OPEN);

  /**
   * Any bytes: frames within the limits, or a {@link ProtocolException} with a code and a
   * message; never another exception. Everything handed on is bounded by the message itself
   * (nothing is allocated by a declared length).
   */
  @FuzzTest(maxDuration = "2m")
  void anyBytesDecodeOrFailWithAProtocolError(byte[] input) {
    Buffer message = Buffer.buffer(input);
    BoundsListener l = new BoundsListener();
    try {
      int frames = reader.read(message, l);
      assertThat(frames).isEqualTo(l.frames);
    } catch (ProtocolException e) {
      assertThat(e.code()).isNotNull();
      assertThat(e.getMessage()).isNotBlank();
      assertThat(e.isConnectionError()).isTrue();
    }
    assertThat(l.handedOn).isLessThanOrEqualTo(input.length);
  }

  /** Frames written by {@link FrameWriter} decode to the same values, in order. */
  @FuzzTest(maxDuration = "2m")
  void writtenFramesDecodeToTheSameValues(FuzzedDataProvider data) throws ProtocolException {
    Buffer message = Buffer.buffer();
    List<String> expected = new ArrayList<>();
    int n = data.consumeInt(1, 8);
    for (int i = 0; i < n && data.remainingBytes() > 0; i++) {
      writeOne(data, message, expected);
    }
    RecordingListener l = new RecordingListener();
    assertThat(reader.read(message, l)).isEqualTo(expected.size());
    assertThat(l.events).isEqualTo(expected);
  }

  /** Found by the round trip: the writer encoded a negative last stream id as a u32 > 2^31-1. */
  @Test
  void goAwayRefusesANegativeLastStreamId() {
    assertThatThrownBy(() -> FrameWriter.goAway(Buffer.buffer(), -40244818, 0, "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void writeOne(FuzzedDataProvider d, Buffer out, List<String> expected) {
    int sid = d.consumeInt(1, Integer.MAX_VALUE);
    switch (d.consumeInt(0, 10)) {
      case 0: {
        Settings s = new Settings(d.consumeLong(-1, WireSpec.MAX_WINDOW),
            d.consumeBoolean() ? -1 : d.consumeLong(WireSpec.MIN_MAX_FRAME_SIZE,
                WireSpec.MAX_MAX_FRAME_SIZE),
            d.consumeLong(-1, 0xFFFF_FFFFL), d.consumeLong(-1, 0xFFFF_FFFFL));
        FrameWriter.settings(out, s);
        expected.add("SETTINGS " + s.initialWindow() + " " + s.maxFrameSize() + " "
            + s.maxConcurrentStreams() + " " + s.maxOpenSize());
        break;
      }
      case 1:
        FrameWriter.settingsAck(out);
        expected.add("SETTINGS ACK");
        break;
      case 2: {
        int kind = d.consumeInt(0, 255);
        String target = ascii(d, WireSpec.MAX_TARGET_BYTES);
        Buffer meta = Buffer.buffer(ascii(d, MAX_OPEN - WireSpec.OPEN_FIXED_SIZE
            - target.length()));
        FrameWriter.open(out, sid, kind, target, meta);
        expected.add("OPEN " + sid + " " + kind + " " + target + " " + meta);
        break;
      }
      case 3:
        FrameWriter.openOk(out, sid);
        expected.add("OPEN_OK " + sid);
        break;
      case 4:
      case 5: {
        long code = d.consumeLong(0, 0xFFFF_FFFFL);
        String reason = d.consumeString(300);
        boolean reset = d.consumeBoolean();
        if (reset) {
          FrameWriter.reset(out, sid, code, reason);
        } else {
          FrameWriter.openErr(out, sid, code, reason);
        }
        expected.add((reset ? "RESET " : "OPEN_ERR ") + sid + " " + ErrorCode.of(code) + " " + code
            + " " + sent(reason));
        break;
      }
      case 6: {
        String payload = ascii(d, MAX_FRAME);
        FrameWriter.data(out, sid, Buffer.buffer(payload));
        expected.add("DATA " + sid + " " + payload);
        break;
      }
      case 7: {
        long inc = d.consumeLong(1, WireSpec.MAX_WINDOW);
        FrameWriter.windowUpdate(out, sid, inc);
        expected.add("WINDOW_UPDATE " + sid + " " + inc);
        break;
      }
      case 8:
        FrameWriter.fin(out, sid);
        expected.add("FIN " + sid);
        break;
      case 9: {
        long opaque = d.consumeLong();
        boolean ping = d.consumeBoolean();
        if (ping) {
          FrameWriter.ping(out, opaque);
        } else {
          FrameWriter.pong(out, opaque);
        }
        expected.add((ping ? "PING " : "PONG ") + opaque);
        break;
      }
      default: {
        // (not consumeInt(0, Integer.MAX_VALUE): in Jazzer 0.24 that returns negative values too)
        int last = (int) d.consumeLong(0, Integer.MAX_VALUE);
        long code = d.consumeLong(0, 0xFFFF_FFFFL);
        String reason = d.consumeString(300);
        FrameWriter.goAway(out, last, code, reason);
        expected.add("GOAWAY " + last + " " + ErrorCode.of(code) + " " + sent(reason));
      }
    }
  }

  /** What the peer receives of {@code reason}: its UTF-8 form, cut to the limit at a character. */
  private static String sent(String reason) {
    String utf8 = new String(reason.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
    int cut = utf8.length();
    while (utf8.substring(0, cut).getBytes(StandardCharsets.UTF_8).length
        > WireSpec.MAX_REASON_BYTES) {
      cut -= Character.isLowSurrogate(utf8.charAt(cut - 1)) ? 2 : 1;
    }
    return utf8.substring(0, cut);
  }

  private static String ascii(FuzzedDataProvider d, int max) {
    return d.consumeAsciiString(Math.max(0, max));
  }

  /** Checks each decoded frame against the limits and sums what it hands on. */
  private static final class BoundsListener implements FrameListener {
    int frames;
    long handedOn;

    private void frame(int streamId) {
      frames++;
      assertThat(streamId).isNotNegative();
    }

    @Override
    public void onSettings(boolean ack, Settings s) {
      frames++;
      assertThat(s.initialWindow()).isLessThanOrEqualTo(WireSpec.MAX_WINDOW);
      if (s.maxFrameSize() >= 0) {
        assertThat(s.maxFrameSize()).isBetween((long) WireSpec.MIN_MAX_FRAME_SIZE,
            (long) WireSpec.MAX_MAX_FRAME_SIZE);
      }
    }

    @Override
    public void onOpen(int id, int kind, String target, Buffer metadata) {
      frame(id);
      assertThat(id).isPositive();
      assertThat(target.getBytes(StandardCharsets.UTF_8).length)
          .isLessThanOrEqualTo(WireSpec.MAX_TARGET_BYTES);
      assertThat(metadata.length() + WireSpec.OPEN_FIXED_SIZE).isLessThanOrEqualTo(MAX_OPEN);
      handedOn += metadata.length();
    }

    @Override
    public void onOpenOk(int id) {
      frame(id);
    }

    @Override
    public void onOpenErr(int id, ErrorCode code, long raw, String reason) {
      frame(id);
      assertThat(code).isNotNull();
    }

    @Override
    public void onData(int id, Buffer payload) {
      frame(id);
      assertThat(id).isPositive();
      assertThat(payload.length()).isLessThanOrEqualTo(MAX_FRAME);
      handedOn += payload.length();
    }

    @Override
    public void onWindowUpdate(int id, long inc) {
      frame(id);
      assertThat(inc).isBetween(1L, WireSpec.MAX_WINDOW);
    }

    @Override
    public void onFin(int id) {
      frame(id);
    }

    @Override
    public void onReset(int id, ErrorCode code, long raw, String reason) {
      frame(id);
      assertThat(code).isNotNull();
    }

    @Override
    public void onPing(long opaque) {
      frames++;
    }

    @Override
    public void onPong(long opaque) {
      frames++;
    }

    @Override
    public void onGoAway(int last, ErrorCode code, long raw, String reason) {
      frames++;
      assertThat(last).isNotNegative();
      assertThat(code).isNotNull();
    }

    @Override
    public void onUnknownFrame(int type, int flags, int id, int length) {
      frame(id);
      assertThat(length).isBetween(0, MAX_FRAME);
    }

    @Override
    public void onStreamError(int id, int type, ErrorCode code, String reason) {
      frame(id);
      assertThat(code).isNotNull();
      assertThat(reason).isNotBlank();
    }
  }
}
