package io.relaymesh.proxy.wire;

/**
 * A violation of the tunnel protocol found while decoding or processing frames. The only
 * exception the {@link FrameReader} ever throws. A {@code streamId} of 0 means the error is
 * connection-scoped (the session sends GOAWAY and closes); otherwise only that stream is reset.
 */
public class ProtocolException extends Exception {
  private final ErrorCode code;
  private final int streamId;

  public ProtocolException(ErrorCode code, int streamId, String message) {
    super(message, null, false, false);
    this.code = code;
    this.streamId = streamId;
  }

  public static ProtocolException connection(ErrorCode code, String message) {
    return new ProtocolException(code, 0, message);
  }

  public ErrorCode code() {
    return code;
  }

  /** 0 for a connection error, else the stream to reset. */
  public int streamId() {
    return streamId;
  }

  public boolean isConnectionError() {
    return streamId == 0;
  }
}
