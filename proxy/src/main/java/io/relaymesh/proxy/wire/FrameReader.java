package io.relaymesh.proxy.wire;

import static io.relaymesh.proxy.wire.WireSpec.*;

import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes the frames of one WebSocket message and hands them to a {@link FrameListener}.
 *
 * <p>The reader keeps no session state: it holds only the receiver's immutable size limits, so
 * one instance may serve any number of sessions on any thread. Each header is validated (type
 * specific length, stream-id scope, size limit, message bounds) before its payload is touched;
 * nothing is allocated by a declared length; DATA payloads are {@link Buffer#slice slices}
 * (small ones copies, see {@link #MAX_RETAIN_RATIO}), OPEN metadata is copied. The only
 * exception thrown is {@link ProtocolException} (connection-scoped when thrown by the reader).
 */
public final class FrameReader {
  /**
   * A DATA payload is passed on as a slice (no copy) when it is at least 1/8 of its message;
   * smaller ones are copied, so that bytes parked in a paused stream never pin more than 8× their
   * size of received messages (a peer could otherwise pad each byte of credit with a whole
   * message of skipped frames). Bulk transfers (16 KiB frames in ~64 KiB messages) are sliced.
   */
  public static final int MAX_RETAIN_RATIO = 8;

  private final int maxFrameSize;
  private final int maxOpenSize;

  /**
   * @param maxFrameSize largest payload accepted (the receiver's SETTINGS MAX_FRAME_SIZE)
   * @param maxOpenSize largest OPEN payload accepted (SETTINGS MAX_OPEN_SIZE)
   */
  public FrameReader(int maxFrameSize, int maxOpenSize) {
    if (maxFrameSize < MIN_MAX_FRAME_SIZE || maxFrameSize > MAX_MAX_FRAME_SIZE) {
      throw new IllegalArgumentException("maxFrameSize out of range: " + maxFrameSize);
    }
    if (maxOpenSize < OPEN_FIXED_SIZE || maxOpenSize > maxFrameSize) {
      throw new IllegalArgumentException("maxOpenSize out of range: " + maxOpenSize);
    }
    this.maxFrameSize = maxFrameSize;
    this.maxOpenSize = maxOpenSize;
  }

  public int maxFrameSize() {
    return maxFrameSize;
  }

  /**
   * Decodes every frame in {@code message}.
   *
   * @return the number of frames decoded
   * @throws ProtocolException a connection error: the rest of the message is not decoded
   */
  public int read(Buffer message, FrameListener listener) throws ProtocolException {
    int end = message.length();
    int pos = 0;
    int frames = 0;
    while (pos < end) {
      if (end - pos < HEADER_SIZE) {
        throw ProtocolException.connection(ErrorCode.FRAME_SIZE_ERROR,
            "truncated frame header: " + (end - pos) + " bytes left in message");
      }
      int type = message.getUnsignedByte(pos + OFFSET_TYPE);
      int flags = message.getUnsignedByte(pos + OFFSET_FLAGS);
      long sid = message.getUnsignedInt(pos + OFFSET_STREAM_ID);
      long len = message.getUnsignedInt(pos + OFFSET_LENGTH);
      if (sid > MAX_STREAM_ID) {
        throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
            typeName(type) + ": stream id " + sid + " above 2^31-1");
      }
      if (len > maxFrameSize) {
        throw ProtocolException.connection(ErrorCode.FRAME_SIZE_ERROR, typeName(type)
            + " on stream " + sid + ": payload " + len + " bytes exceeds max frame size "
            + maxFrameSize);
      }
      int streamId = (int) sid;
      int length = (int) len;
      checkHeader(type, flags, streamId, length);
      int start = pos + HEADER_SIZE;
      if (length > end - start) {
        throw ProtocolException.connection(ErrorCode.FRAME_SIZE_ERROR, typeName(type)
            + " on stream " + streamId + ": payload of " + length + " bytes truncated at "
            + (end - start) + " (a frame never spans messages)");
      }
      dispatch(message, type, flags, streamId, start, length, listener);
      pos = start + length;
      frames++;
    }
    return frames;
  }

  /** Type-specific validation of a header, before the payload is read. */
  private void checkHeader(int type, int flags, int streamId, int length)
      throws ProtocolException {
    switch (type) {
      case TYPE_SETTINGS:
        sessionScoped(type, streamId);
        if ((flags & FLAG_ACK) != 0 ? length != 0
            : length % SETTINGS_ENTRY_SIZE != 0
                || length > SETTINGS_MAX_ENTRIES * SETTINGS_ENTRY_SIZE) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_PING:
      case TYPE_PONG:
        sessionScoped(type, streamId);
        if (length != PING_SIZE) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_GOAWAY:
        sessionScoped(type, streamId);
        if (length < GOAWAY_FIXED_SIZE || length > GOAWAY_FIXED_SIZE + MAX_REASON_BYTES) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_OPEN:
        streamScoped(type, streamId);
        if (length < OPEN_FIXED_SIZE) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_OPEN_OK:
      case TYPE_FIN:
        streamScoped(type, streamId);
        if (length != 0) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_OPEN_ERR:
      case TYPE_RESET:
        streamScoped(type, streamId);
        if (length < CODE_SIZE || length > CODE_SIZE + MAX_REASON_BYTES) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_WINDOW_UPDATE:
        streamScoped(type, streamId);
        if (length != WINDOW_UPDATE_SIZE) {
          throw badLength(type, streamId, length);
        }
        break;
      case TYPE_DATA:
        streamScoped(type, streamId);
        break;
      default:
        break; // unknown: skipped, length already bounded by maxFrameSize
    }
  }

  private void dispatch(Buffer m, int type, int flags, int sid, int p, int length,
      FrameListener l) throws ProtocolException {
    switch (type) {
      case TYPE_SETTINGS:
        l.onSettings((flags & FLAG_ACK) != 0, settings(m, p, length));
        break;
      case TYPE_OPEN: {
        if (length > maxOpenSize) { // bounded by maxFrameSize: refuse the stream only
          l.onStreamError(sid, type, ErrorCode.LIMIT, "OPEN payload of " + length
              + " bytes exceeds the limit of " + maxOpenSize);
          break;
        }
        int kind = m.getUnsignedByte(p);
        int targetLen = m.getUnsignedShort(p + 1);
        if (targetLen > MAX_TARGET_BYTES || targetLen > length - OPEN_FIXED_SIZE) {
          l.onStreamError(sid, type, ErrorCode.PROTOCOL_ERROR, "OPEN target length " + targetLen
              + " exceeds " + Math.min(MAX_TARGET_BYTES, length - OPEN_FIXED_SIZE));
          break;
        }
        String target = strictUtf8(m, p + OPEN_FIXED_SIZE, targetLen);
        if (target == null) {
          l.onStreamError(sid, type, ErrorCode.PROTOCOL_ERROR, "OPEN target is not UTF-8");
          break;
        }
        int metaStart = p + OPEN_FIXED_SIZE + targetLen;
        l.onOpen(sid, kind, target, m.getBuffer(metaStart, p + length)); // kept: copy
        break;
      }
      case TYPE_OPEN_OK:
        l.onOpenOk(sid);
        break;
      case TYPE_OPEN_ERR: {
        long raw = m.getUnsignedInt(p);
        l.onOpenErr(sid, ErrorCode.of(raw), raw, lenientUtf8(m, p + CODE_SIZE, length - CODE_SIZE));
        break;
      }
      case TYPE_DATA:
        l.onData(sid, (long) length * MAX_RETAIN_RATIO >= m.length()
            ? m.slice(p, p + length) : m.getBuffer(p, p + length));
        break;
      case TYPE_WINDOW_UPDATE: {
        long inc = m.getUnsignedInt(p);
        if (inc == 0 || inc > MAX_WINDOW) {
          l.onStreamError(sid, type, ErrorCode.FLOW_CONTROL_ERROR,
              "WINDOW_UPDATE increment " + inc + " not in 1..2^31-1");
          break;
        }
        l.onWindowUpdate(sid, inc);
        break;
      }
      case TYPE_FIN:
        l.onFin(sid);
        break;
      case TYPE_RESET: {
        long raw = m.getUnsignedInt(p);
        l.onReset(sid, ErrorCode.of(raw), raw, lenientUtf8(m, p + CODE_SIZE, length - CODE_SIZE));
        break;
      }
      case TYPE_PING:
        l.onPing(m.getLong(p));
        break;
      case TYPE_PONG:
        l.onPong(m.getLong(p));
        break;
      case TYPE_GOAWAY: {
        long last = m.getUnsignedInt(p);
        if (last > MAX_STREAM_ID) {
          throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
              "GOAWAY last stream id " + last + " above 2^31-1");
        }
        long raw = m.getUnsignedInt(p + 4);
        l.onGoAway((int) last, ErrorCode.of(raw), raw,
            lenientUtf8(m, p + GOAWAY_FIXED_SIZE, length - GOAWAY_FIXED_SIZE));
        break;
      }
      default:
        l.onUnknownFrame(type, flags, sid, length);
    }
  }

  private static Settings settings(Buffer m, int p, int length) throws ProtocolException {
    long window = -1;
    long frame = -1;
    long streams = -1;
    long open = -1;
    for (int i = p; i < p + length; i += SETTINGS_ENTRY_SIZE) {
      int id = m.getUnsignedShort(i);
      long v = m.getUnsignedInt(i + 2);
      switch (id) {
        case SETTING_INITIAL_WINDOW:
          if (v > MAX_WINDOW) {
            throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
                "SETTINGS INITIAL_WINDOW " + v + " above 2^31-1");
          }
          window = v;
          break;
        case SETTING_MAX_FRAME_SIZE:
          if (v < MIN_MAX_FRAME_SIZE || v > MAX_MAX_FRAME_SIZE) {
            throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
                "SETTINGS MAX_FRAME_SIZE " + v + " outside 1 KiB..16 MiB");
          }
          frame = v;
          break;
        case SETTING_MAX_CONCURRENT_STREAMS:
          streams = v;
          break;
        case SETTING_MAX_OPEN_SIZE:
          open = v;
          break;
        default:
          break; // unknown settings are ignored
      }
    }
    return new Settings(window, frame, streams, open);
  }

  private static ProtocolException badLength(int type, int sid, int length) {
    return ProtocolException.connection(ErrorCode.FRAME_SIZE_ERROR,
        typeName(type) + " on stream " + sid + ": invalid payload length " + length);
  }

  private static void sessionScoped(int type, int sid) throws ProtocolException {
    if (sid != 0) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          typeName(type) + " must use stream id 0, got " + sid);
    }
  }

  private static void streamScoped(int type, int sid) throws ProtocolException {
    if (sid == 0) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          typeName(type) + " must not use stream id 0");
    }
  }

  /** Decodes UTF-8, or returns null when malformed. Lengths are already bounded. */
  static String strictUtf8(Buffer m, int start, int len) {
    if (len == 0) {
      return "";
    }
    byte[] bytes = m.getBytes(start, start + len);
    try {
      CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      return cb.toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Decodes UTF-8, replacing malformed input. Lengths are already bounded. */
  static String lenientUtf8(Buffer m, int start, int len) {
    return len == 0 ? "" : new String(m.getBytes(start, start + len), StandardCharsets.UTF_8);
  }
}
