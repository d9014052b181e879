package io.relaymesh.proxy.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
  private final FrameReader reader = new FrameReader(65536, 16384);

  private static Buffer hex(String h) {
    return Buffer.buffer(HexFormat.of().parseHex(h.replace(" ", "")));
  }

  private RecordingListener read(Buffer b) throws ProtocolException {
    RecordingListener l = new RecordingListener();
    reader.read(b, l);
    return l;
  }

  @Test
  void decodesHandBuiltFrames() throws Exception {
    Buffer b = hex(
        // DATA, flags 0, stream 3, length 2, "hi"
        "05 00 00000003 00000002 6869"
        // WINDOW_UPDATE stream 3 increment 65536
        + "06 00 00000003 00000004 00010000"
        // OPEN stream 1: kind 1, target "a:1" (3 bytes), metadata "{}"
        + "02 00 00000001 00000008 01 0003 613a31 7b7d"
        // SETTINGS: INITIAL_WINDOW=1024, MAX_FRAME_SIZE=2048
        + "01 00 00000000 0000000c 0001 00000400 0002 00000800"
        // SETTINGS ACK
        + "01 01 00000000 00000000"
        // FIN stream 3, OPEN_OK stream 1
        + "07 00 00000003 00000000 03 00 00000001 00000000"
        // RESET stream 3 code 8 (CANCEL) reason "x"
        + "08 00 00000003 00000005 00000008 78"
        // OPEN_ERR stream 5 code 11 no reason
        + "04 00 00000005 00000004 0000000b"
        // PING / PONG
        + "09 00 00000000 00000008 0000000000000007 0a 00 00000000 00000008 0000000000000007"
        // GOAWAY last 7 code 10 reason "bye"
        + "0b 00 00000000 0000000b 00000007 0000000a 627965");
    assertThat(read(b).events).containsExactly(
        "DATA 3 hi",
        "WINDOW_UPDATE 3 65536",
        "OPEN 1 1 a:1 {}",
        "SETTINGS 1024 2048 -1 -1",
        "SETTINGS ACK",
        "FIN 3",
        "OPEN_OK 1",
        "RESET 3 CANCEL 8 x",
        "OPEN_ERR 5 CONNECT_REFUSED 11 ",
        "PING 7",
        "PONG 7",
        "GOAWAY 7 GOING_AWAY bye");
  }

  @Test
  void writerProducesTheDocumentedBytes() {
    Buffer b = Buffer.buffer();
    FrameWriter.data(b, 3, Buffer.buffer("hi"));
    FrameWriter.open(b, 1, 1, "a:1", Buffer.buffer("{}"));
    FrameWriter.goAway(b, 7, 10, "bye");
    assertThat(HexFormat.of().formatHex(b.getBytes())).isEqualTo(
        "0500000000030000000268" + "69"
            + "020000000001000000080100036" + "13a317b7d"
            + "0b00000000000000000b000000070000000a627965");
  }

  @Test
  void roundTripsEveryFrameType() throws Exception {
    Buffer b = Buffer.buffer();
    FrameWriter.settings(b, new Settings(1 << 20, 65536, 1024, 16384));
    FrameWriter.settingsAck(b);
    FrameWriter.open(b, 9, WireSpec.KIND_SSH, "127.0.0.1:22", Buffer.buffer("{\"u\":1}"));
    FrameWriter.openOk(b, 9);
    FrameWriter.openErr(b, 11, ErrorCode.UNAUTHORIZED.value(), "no ticket");
    FrameWriter.data(b, 9, Buffer.buffer("payload"));
    FrameWriter.data(b, 9, Buffer.buffer());
    FrameWriter.windowUpdate(b, 9, 0x7FFF_FFFFL);
    FrameWriter.fin(b, 9);
    FrameWriter.reset(b, 9, 0xFFFF_FFFFL, "ü");
    FrameWriter.ping(b, -1L);
    FrameWriter.pong(b, Long.MIN_VALUE);
    FrameWriter.goAway(b, 0x7FFF_FFFF, 0, "");
    FrameWriter.header(b, 0x7F, 0xFF, 5, 3).appendBytes(new byte[3]);
    assertThat(read(b).events).containsExactly(
        "SETTINGS 1048576 65536 1024 16384",
        "SETTINGS ACK",
        "OPEN 9 2 127.0.0.1:22 {\"u\":1}",
        "OPEN_OK 9",
        "OPEN_ERR 11 UNAUTHORIZED 14 no ticket",
        "DATA 9 payload",
        "DATA 9 ",
        "WINDOW_UPDATE 9 2147483647",
        "FIN 9",
        "RESET 9 INTERNAL 4294967295 ü",
        "PING -1",
        "PONG " + Long.MIN_VALUE,
        "GOAWAY 2147483647 NO_ERROR ",
        "UNKNOWN 127 5 3");
  }

  @Test
  void messageBuilderReferencesLargePayloadsAndKeepsOrder() throws Exception {
    MessageBuilder m = new MessageBuilder();
    FrameWriter.windowUpdate(m.control(), 1, 5);
    m.appended();
    byte[] big = new byte[5000];
    big[0] = 'A';
    big[4999] = 'Z';
    m.data(1, Buffer.buffer(big));
    m.data(3, Buffer.buffer("small"));
    FrameWriter.fin(m.control(), 3);
    m.appended();
    assertThat(m.size()).isEqualTo(14 + 5010 + 15 + 10);
    Buffer msg = m.build();
    assertThat(m.isEmpty()).isTrue();
    assertThat(msg.length()).isEqualTo(14 + 5010 + 15 + 10);
    RecordingListener l = read(msg);
    assertThat(l.events).hasSize(4);
    assertThat(l.events.get(0)).isEqualTo("WINDOW_UPDATE 1 5");
    assertThat(l.events.get(1)).startsWith("DATA 1 A").endsWith("Z");
    assertThat(l.events.subList(2, 4)).containsExactly("DATA 3 small", "FIN 3");
  }

  @Test
  void bulkPayloadsAreSlicedAndSmallOnesCopiedSoTheyCannotPinMessages() throws Exception {
    Buffer msg = Buffer.buffer();
    FrameWriter.data(msg, 1, Buffer.buffer(new byte[10_000]));
    FrameWriter.data(msg, 3, Buffer.buffer("tiny"));
    FrameWriter.header(msg, 0x42, 0, 5, 60_000).appendBytes(new byte[60_000]); // padding
    List<Buffer> payloads = new ArrayList<>();
    reader.read(msg, new RecordingListener() {
      @Override
      public void onData(int id, Buffer payload) {
        payloads.add(payload);
      }
    });
    // overwrite the received message: a slice sees it, a copy does not
    msg.setByte(10, (byte) 7);
    msg.setByte(10 + 10_000 + 10, (byte) '!');
    assertThat(payloads.get(0).getByte(0)).isEqualTo((byte) 7); // 10 000 >= 70 030 / 8: slice
    assertThat(payloads.get(1).toString()).isEqualTo("tiny"); // 4 bytes: copied
  }

  @Test
  void reasonsAreCutAtACharacterBoundary() throws Exception {
    String longReason = "é".repeat(600); // 1200 bytes
    Buffer b = FrameWriter.reset(Buffer.buffer(), 1, 1, longReason);
    assertThat(b.length()).isEqualTo(10 + 4 + 1024);
    assertThat(read(b).events.get(0)).isEqualTo("RESET 1 PROTOCOL_ERROR 1 " + "é".repeat(512));
  }

  @Test
  void headerErrorsAreConnectionErrors() {
    // truncated header
    assertConnectionError(hex("05 00 0000"), ErrorCode.FRAME_SIZE_ERROR);
    // payload truncated by message end
    assertConnectionError(hex("05 00 00000001 00000005 6869"), ErrorCode.FRAME_SIZE_ERROR);
    // length above max frame size, with no payload present: no allocation, just an error
    assertConnectionError(hex("05 00 00000001 ffffffff"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("7f 00 00000001 00010001"), ErrorCode.FRAME_SIZE_ERROR);
    // stream id above 2^31-1
    assertConnectionError(hex("05 00 80000000 00000000"), ErrorCode.PROTOCOL_ERROR);
    // stream frame on stream 0, session frame on a stream
    assertConnectionError(hex("05 00 00000000 00000000"), ErrorCode.PROTOCOL_ERROR);
    assertConnectionError(hex("09 00 00000001 00000008 0000000000000000"),
        ErrorCode.PROTOCOL_ERROR);
    // fixed sizes
    assertConnectionError(hex("06 00 00000001 00000003 000001"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("09 00 00000000 00000004 00000000"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("07 00 00000001 00000001 00"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("01 00 00000000 00000005 0001000000"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("01 01 00000000 00000006 000100000001"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("08 00 00000001 00000002 0000"), ErrorCode.FRAME_SIZE_ERROR);
    assertConnectionError(hex("02 00 00000001 00000002 0100"), ErrorCode.FRAME_SIZE_ERROR);
    // SETTINGS value out of range
    assertConnectionError(hex("01 00 00000000 00000006 0002 00000010"), ErrorCode.PROTOCOL_ERROR);
    assertConnectionError(hex("01 00 00000000 00000006 0001 80000000"), ErrorCode.PROTOCOL_ERROR);
  }

  @Test
  void payloadErrorsAreStreamErrorsAndDecodingContinues() throws Exception {
    Buffer b = hex(
        // OPEN whose target length runs past the payload
        "02 00 00000001 00000004 01 0009 61"
        // OPEN with invalid UTF-8 target
        + "02 00 00000003 00000005 01 0002 c328"
        // WINDOW_UPDATE with a zero increment
        + "06 00 00000005 00000004 00000000"
        + "07 00 00000005 00000000")
        // OPEN above the configured max open size (16384): refused, its payload skipped
        .appendBuffer(hex("02 00 00000007 00004001")).appendBytes(new byte[0x4001])
        .appendBuffer(hex("07 00 00000007 00000000"));
    assertThat(read(b).events).containsExactly(
        "STREAM_ERROR 1 OPEN PROTOCOL_ERROR",
        "STREAM_ERROR 3 OPEN PROTOCOL_ERROR",
        "STREAM_ERROR 5 WINDOW_UPDATE FLOW_CONTROL_ERROR",
        "FIN 5",
        "STREAM_ERROR 7 OPEN LIMIT",
        "FIN 7");
  }

  @Test
  void unknownTypesAndSettingsAreSkipped() throws Exception {
    Buffer b = hex("ee 07 00000009 00000002 abcd"
        + "01 00 00000000 0000000c 0063 00000001 0003 00000010"
        + "07 00 00000009 00000000");
    assertThat(read(b).events).containsExactly("UNKNOWN 238 9 2", "SETTINGS -1 -1 16 -1",
        "FIN 9");
  }

  @Test
  void rejectsBadReaderLimits() {
    assertThatThrownBy(() -> new FrameReader(100, 50))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new FrameReader(4096, 8192))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private void assertConnectionError(Buffer b, ErrorCode code) {
    assertThatThrownBy(() -> read(b))
        .isInstanceOfSatisfying(ProtocolException.class, e -> {
          assertThat(e.code()).isEqualTo(code);
          assertThat(e.isConnectionError()).isTrue();
        });
  }
}
