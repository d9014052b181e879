package io.relaymesh.cli;

/** A failure reported to the user as one line on stderr (exit code 1). */
public final class CliException extends RuntimeException {

  private final boolean controlPlaneUnavailable;

  public CliException(String message) {
    this(message, null, false);
  }

  public CliException(String message, Throwable cause) {
    this(message, cause, false);
  }

  private CliException(String message, Throwable cause, boolean controlPlaneUnavailable) {
    super(message, cause);
    this.controlPlaneUnavailable = controlPlaneUnavailable;
  }

  /** The control plane could not be reached or answered 5xx: an outage, not a refusal. */
  static CliException controlPlaneUnavailable(String message, Throwable cause) {
    return new CliException(message, cause, true);
  }

  /**
   * Whether the control plane was unreachable or answered 5xx (not a 4xx refusal such as a
   * revoked session or a forbidden workspace): what a still valid ticket may outlast.
   */
  public boolean controlPlaneUnavailable() {
    return controlPlaneUnavailable;
  }
}
