package io.relaymesh.proxy.wire;

/** Error codes (u32) shared by OPEN_ERR, RESET and GOAWAY; see {@code docs/protocol.md} §8. */
public enum ErrorCode {
  NO_ERROR(0),
  PROTOCOL_ERROR(1),
  INTERNAL(2),
  FLOW_CONTROL_ERROR(3),
  TIMEOUT(4),
  STREAM_CLOSED(5),
  FRAME_SIZE_ERROR(6),
  REFUSED(7),
  CANCEL(8),
  LIMIT(9),
  GOING_AWAY(10),
  CONNECT_REFUSED(11),
  UNREACHABLE(12),
  NOT_FOUND(13),
  UNAUTHORIZED(14),
  FORBIDDEN(15),
  UNSUPPORTED(16);

  private static final ErrorCode[] BY_VALUE = new ErrorCode[17];

  static {
    for (ErrorCode c : values()) {
      BY_VALUE[(int) c.value] = c;
    }
  }

  private final long value;

  ErrorCode(long value) {
    this.value = value;
  }

  /** The u32 wire value. */
  public long value() {
    return value;
  }

  /** The code for a wire value; unknown values map to {@link #INTERNAL} (docs §8). */
  public static ErrorCode of(long value) {
    return value >= 0 && value < BY_VALUE.length ? BY_VALUE[(int) value] : INTERNAL;
  }
}
