package io.relaymesh.proxy.session;

/** Which end of the WebSocket a session is on; decides the parity of the stream ids it opens. */
public enum Role {
  /** WebSocket client: opens odd stream ids. */
  CLIENT,
  /** WebSocket server: opens even stream ids. */
  SERVER;

  /** First stream id this role opens. */
  public int firstStreamId() {
    return this == CLIENT ? 1 : 2;
  }

  /** Whether {@code streamId} belongs to streams this role opens. */
  public boolean opens(int streamId) {
    return (streamId & 1) == (this == CLIENT ? 1 : 0);
  }
}
