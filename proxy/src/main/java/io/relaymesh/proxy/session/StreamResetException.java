package io.relaymesh.proxy.session;

import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.VertxException;

/**
 * A stream ended abnormally: reset by the peer or locally (limits, timeouts), refused at open,
 * or its session closed. Delivered to the stream's exception handler and failed futures.
 */
public class StreamResetException extends VertxException {
  private final ErrorCode code;
  private final long rawCode;
  private final boolean remote;

  public StreamResetException(ErrorCode code, long rawCode, String reason, boolean remote) {
    super(reason, true);
    this.code = code;
    this.rawCode = rawCode;
    this.remote = remote;
  }

  public StreamResetException(ErrorCode code, String reason, boolean remote) {
    this(code, code.value(), reason, remote);
  }

  public ErrorCode code() {
    return code;
  }

  /** The code as received (unknown codes map to INTERNAL in {@link #code()}). */
  public long rawCode() {
    return rawCode;
  }

  /** True when the peer sent it. */
  public boolean isRemote() {
    return remote;
  }

  /** The human-readable reason. */
  public String reason() {
    return super.getMessage();
  }

  protected String prefix() {
    return remote ? "reset by peer" : "reset";
  }

  @Override
  public String getMessage() {
    return prefix() + ": " + code + " " + reason();
  }
}
