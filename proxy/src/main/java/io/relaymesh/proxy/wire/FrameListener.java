package io.relaymesh.proxy.wire;

import io.vertx.core.buffer.Buffer;

/**
 * Receives decoded frames from a {@link FrameReader}, in wire order. Implemented by the session
 * (and by abuse-limit decorators in front of it). Payload buffers are slices of the received
 * WebSocket message: valid for as long as the listener keeps a reference, never copied.
 *
 * <p>Methods may throw {@link ProtocolException}; a connection-scoped one stops the reader.
 */
public interface FrameListener {

  void onSettings(boolean ack, Settings settings) throws ProtocolException;

  void onOpen(int streamId, int kind, String target, Buffer metadata) throws ProtocolException;

  void onOpenOk(int streamId) throws ProtocolException;

  void onOpenErr(int streamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException;

  void onData(int streamId, Buffer payload) throws ProtocolException;

  void onWindowUpdate(int streamId, long increment) throws ProtocolException;

  void onFin(int streamId) throws ProtocolException;

  void onReset(int streamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException;

  void onPing(long opaque) throws ProtocolException;

  void onPong(long opaque) throws ProtocolException;

  void onGoAway(int lastStreamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException;

  /** A frame of unknown type; its payload was skipped. */
  default void onUnknownFrame(int type, int flags, int streamId, int length)
      throws ProtocolException {}

  /**
   * A stream-scoped decoding error (the frame's header was valid, its payload was not, e.g. an
   * OPEN whose target is not UTF-8). The reader continues with the next frame.
   */
  void onStreamError(int streamId, int frameType, ErrorCode code, String reason)
      throws ProtocolException;
}
