package io.relaymesh.proxy.session;

import io.relaymesh.proxy.wire.ErrorCode;

/** An OPEN was refused (OPEN_ERR from the peer, or a local limit before sending it). */
public final class StreamRefusedException extends StreamResetException {
  public StreamRefusedException(ErrorCode code, long rawCode, String reason, boolean remote) {
    super(code, rawCode, reason, remote);
  }

  @Override
  protected String prefix() {
    return isRemote() ? "open refused by peer" : "open refused";
  }
}
