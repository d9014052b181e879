package io.relaymesh.relay.control;

/**
 * A control-plane call failed: either an answer with an error status and the control plane's
 * stable {@code code} ({@link #status()} &gt; 0), or no answer at all ({@link #status()} 0:
 * unreachable, timeout). Never contains a token.
 */
public final class ControlException extends RuntimeException {
  private final int status;
  private final String code;

  public ControlException(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  /** The HTTP status, or 0 when the control plane did not answer. */
  public int status() {
    return status;
  }

  /** The control plane's error code ({@code replica_not_registered}, ...), or {@code unavailable}. */
  public String code() {
    return code;
  }

  /** No answer, or a 5xx: worth retrying. */
  public boolean retryable() {
    return status == 0 || status >= 500 || status == 429;
  }
}
