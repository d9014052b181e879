package io.relaymesh.proxy.wire;

/**
 * The whole tunnel wire format, version 1, in one place (mirrored by {@code docs/protocol.md};
 * every value is pinned by {@code WireSpecTest}). All integers are big-endian and unsigned.
 *
 * <pre>
 * frame = header payload
 * header (10 bytes) = type u8 | flags u8 | stream id u32 | payload length u32
 * </pre>
 */
public final class WireSpec {
  private WireSpec() {}

  /** WebSocket subprotocol naming this version. */
  public static final String SUBPROTOCOL = "relaymesh.v1";

  /**
   * Upgrade header negotiating unmasked client frames: a client that can send unmasked WebSocket
   * frames offers it (value {@value #UNMASKED_FRAMES_VALUE}) in its upgrade request; a server
   * that accepts unmasked frames answers it in the 101 response, and only then does the client
   * stop masking. Masking (RFC 6455 section 5.3) protects browsers' intermediaries; between our
   * own components inside TLS it only costs CPU. A server always accepts masked frames.
   */
  public static final String UNMASKED_FRAMES_HEADER = "Relaymesh-Unmasked-Frames";
  public static final String UNMASKED_FRAMES_VALUE = "1";

  // ---- header ------------------------------------------------------------------------------
  public static final int HEADER_SIZE = 10;        // type(1) flags(1) streamId(4) length(4)
  public static final int OFFSET_TYPE = 0;         // u8
  public static final int OFFSET_FLAGS = 1;        // u8
  public static final int OFFSET_STREAM_ID = 2;    // u32, 0 = session, max 2^31-1
  public static final int OFFSET_LENGTH = 6;       // u32, payload bytes after the header
  public static final long MAX_STREAM_ID = 0x7FFF_FFFFL;

  // ---- frame types -------------------------------------------------------------------------
  public static final int TYPE_SETTINGS = 0x01;      // sid 0: n x (id u16 | value u32); flag ACK
  public static final int TYPE_OPEN = 0x02;          // kind u8 | targetLen u16 | target | metadata
  public static final int TYPE_OPEN_OK = 0x03;       // empty
  public static final int TYPE_OPEN_ERR = 0x04;      // code u32 | reason utf-8
  public static final int TYPE_DATA = 0x05;          // bytes
  public static final int TYPE_WINDOW_UPDATE = 0x06; // increment u32 (1 .. 2^31-1)
  public static final int TYPE_FIN = 0x07;           // empty: no more DATA in this direction
  public static final int TYPE_RESET = 0x08;         // code u32 | reason utf-8
  public static final int TYPE_PING = 0x09;          // sid 0: opaque u64
  public static final int TYPE_PONG = 0x0A;          // sid 0: the ping's u64 echoed
  public static final int TYPE_GOAWAY = 0x0B;        // sid 0: lastStreamId u32 | code u32 | reason

  // ---- flags -------------------------------------------------------------------------------
  public static final int FLAG_ACK = 0x01;           // SETTINGS: acknowledges the peer's SETTINGS

  // ---- SETTINGS ids (entry = id u16 | value u32) -------------------------------------------
  public static final int SETTINGS_ENTRY_SIZE = 6;           // id(2) value(4)
  public static final int SETTINGS_MAX_ENTRIES = 10;         // payload <= 60 bytes
  public static final int SETTING_INITIAL_WINDOW = 0x01;     // bytes of credit per new stream
  public static final int SETTING_MAX_FRAME_SIZE = 0x02;     // largest payload accepted
  public static final int SETTING_MAX_CONCURRENT_STREAMS = 0x03;
  public static final int SETTING_MAX_OPEN_SIZE = 0x04;      // largest OPEN payload accepted

  // ---- payload sizes -----------------------------------------------------------------------
  public static final int OPEN_FIXED_SIZE = 3;               // kind(1) targetLen(2)
  public static final int MAX_TARGET_BYTES = 1024;           // target utf-8 bytes
  public static final int CODE_SIZE = 4;                     // u32 error code
  public static final int MAX_REASON_BYTES = 1024;           // reason utf-8 bytes
  public static final int WINDOW_UPDATE_SIZE = 4;            // u32 increment
  public static final int PING_SIZE = 8;                     // u64 opaque
  public static final int GOAWAY_FIXED_SIZE = 8;             // lastStreamId(4) code(4)

  // ---- limits ------------------------------------------------------------------------------
  public static final int MIN_MAX_FRAME_SIZE = 1024;            // 1 KiB
  public static final int MAX_MAX_FRAME_SIZE = 16 * 1024 * 1024; // 16 MiB
  public static final long MAX_WINDOW = 0x7FFF_FFFFL;           // 2^31-1
  /** Spec defaults, used only for documentation; sessions always exchange SETTINGS. */
  public static final int DEFAULT_INITIAL_WINDOW = 1024 * 1024;     // 1 MiB
  public static final int DEFAULT_MAX_FRAME_SIZE = 64 * 1024;       // 64 KiB
  public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 1024;
  public static final int DEFAULT_MAX_OPEN_SIZE = 16 * 1024;        // 16 KiB
  /** Largest WebSocket message a v1 writer produces (Vert.x's default maximum). */
  public static final int MAX_MESSAGE_SIZE = 256 * 1024;            // 256 KiB
  /** Round-robin quantum: DATA bytes per stream per scheduling turn. */
  public static final int QUANTUM = 16 * 1024;                      // 16 KiB

  // ---- OPEN kinds --------------------------------------------------------------------------
  public static final int KIND_TCP = 0x01;
  public static final int KIND_SSH = 0x02;
  public static final int KIND_APP = 0x03;
  public static final int KIND_PEER = 0x04;
  public static final int KIND_CONTROL = 0x05;

  /** Name of a frame type for logs and errors. */
  public static String typeName(int type) {
    switch (type) {
      case TYPE_SETTINGS: return "SETTINGS";
      case TYPE_OPEN: return "OPEN";
      case TYPE_OPEN_OK: return "OPEN_OK";
      case TYPE_OPEN_ERR: return "OPEN_ERR";
      case TYPE_DATA: return "DATA";
      case TYPE_WINDOW_UPDATE: return "WINDOW_UPDATE";
      case TYPE_FIN: return "FIN";
      case TYPE_RESET: return "RESET";
      case TYPE_PING: return "PING";
      case TYPE_PONG: return "PONG";
      case TYPE_GOAWAY: return "GOAWAY";
      default: return "UNKNOWN(0x" + Integer.toHexString(type) + ")";
    }
  }
}
