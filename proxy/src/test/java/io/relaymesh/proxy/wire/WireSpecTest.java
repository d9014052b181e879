package io.relaymesh.proxy.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Pins every wire constant: changing one is a protocol change (update docs/protocol.md). */
class WireSpecTest {

  @Test
  void headerLayout() {
    assertThat(WireSpec.SUBPROTOCOL).isEqualTo("relaymesh.v1");
    assertThat(WireSpec.HEADER_SIZE).isEqualTo(10);
    assertThat(WireSpec.OFFSET_TYPE).isEqualTo(0);
    assertThat(WireSpec.OFFSET_FLAGS).isEqualTo(1);
    assertThat(WireSpec.OFFSET_STREAM_ID).isEqualTo(2);
    assertThat(WireSpec.OFFSET_LENGTH).isEqualTo(6);
    assertThat(WireSpec.MAX_STREAM_ID).isEqualTo(2147483647L);
  }

  @Test
  void frameTypes() {
    assertThat(WireSpec.TYPE_SETTINGS).isEqualTo(0x01);
    assertThat(WireSpec.TYPE_OPEN).isEqualTo(0x02);
    assertThat(WireSpec.TYPE_OPEN_OK).isEqualTo(0x03);
    assertThat(WireSpec.TYPE_OPEN_ERR).isEqualTo(0x04);
    assertThat(WireSpec.TYPE_DATA).isEqualTo(0x05);
    assertThat(WireSpec.TYPE_WINDOW_UPDATE).isEqualTo(0x06);
    assertThat(WireSpec.TYPE_FIN).isEqualTo(0x07);
    assertThat(WireSpec.TYPE_RESET).isEqualTo(0x08);
    assertThat(WireSpec.TYPE_PING).isEqualTo(0x09);
    assertThat(WireSpec.TYPE_PONG).isEqualTo(0x0A);
    assertThat(WireSpec.TYPE_GOAWAY).isEqualTo(0x0B);
    assertThat(WireSpec.FLAG_ACK).isEqualTo(0x01);
  }

  @Test
  void settingsAndPayloadSizes() {
    assertThat(WireSpec.SETTINGS_ENTRY_SIZE).isEqualTo(6);
    assertThat(WireSpec.SETTINGS_MAX_ENTRIES).isEqualTo(10);
    assertThat(WireSpec.SETTING_INITIAL_WINDOW).isEqualTo(0x01);
    assertThat(WireSpec.SETTING_MAX_FRAME_SIZE).isEqualTo(0x02);
    assertThat(WireSpec.SETTING_MAX_CONCURRENT_STREAMS).isEqualTo(0x03);
    assertThat(WireSpec.SETTING_MAX_OPEN_SIZE).isEqualTo(0x04);
    assertThat(WireSpec.OPEN_FIXED_SIZE).isEqualTo(3);
    assertThat(WireSpec.MAX_TARGET_BYTES).isEqualTo(1024);
    assertThat(WireSpec.CODE_SIZE).isEqualTo(4);
    assertThat(WireSpec.MAX_REASON_BYTES).isEqualTo(1024);
    assertThat(WireSpec.WINDOW_UPDATE_SIZE).isEqualTo(4);
    assertThat(WireSpec.PING_SIZE).isEqualTo(8);
    assertThat(WireSpec.GOAWAY_FIXED_SIZE).isEqualTo(8);
  }

  @Test
  void limitsAndDefaults() {
    assertThat(WireSpec.MIN_MAX_FRAME_SIZE).isEqualTo(1024);
    assertThat(WireSpec.MAX_MAX_FRAME_SIZE).isEqualTo(16777216);
    assertThat(WireSpec.MAX_WINDOW).isEqualTo(2147483647L);
    assertThat(WireSpec.DEFAULT_INITIAL_WINDOW).isEqualTo(1048576);
    assertThat(WireSpec.DEFAULT_MAX_FRAME_SIZE).isEqualTo(65536);
    assertThat(WireSpec.DEFAULT_MAX_CONCURRENT_STREAMS).isEqualTo(1024);
    assertThat(WireSpec.DEFAULT_MAX_OPEN_SIZE).isEqualTo(16384);
    assertThat(WireSpec.MAX_MESSAGE_SIZE).isEqualTo(262144);
    assertThat(WireSpec.QUANTUM).isEqualTo(16384);
  }

  @Test
  void kinds() {
    assertThat(WireSpec.KIND_TCP).isEqualTo(1);
    assertThat(WireSpec.KIND_SSH).isEqualTo(2);
    assertThat(WireSpec.KIND_APP).isEqualTo(3);
    assertThat(WireSpec.KIND_PEER).isEqualTo(4);
    assertThat(WireSpec.KIND_CONTROL).isEqualTo(5);
  }

  @Test
  void errorCodes() {
    long[] expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    String[] names = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL", "FLOW_CONTROL_ERROR", "TIMEOUT",
        "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED", "CANCEL", "LIMIT", "GOING_AWAY",
        "CONNECT_REFUSED", "UNREACHABLE", "NOT_FOUND", "UNAUTHORIZED", "FORBIDDEN", "UNSUPPORTED"};
    assertThat(ErrorCode.values()).hasSize(expected.length);
    for (int i = 0; i < expected.length; i++) {
      ErrorCode c = ErrorCode.valueOf(names[i]);
      assertThat(c.value()).as(names[i]).isEqualTo(expected[i]);
      assertThat(ErrorCode.of(expected[i])).isEqualTo(c);
    }
    assertThat(ErrorCode.of(17)).isEqualTo(ErrorCode.INTERNAL);
    assertThat(ErrorCode.of(0xFFFF_FFFFL)).isEqualTo(ErrorCode.INTERNAL);
  }
}
