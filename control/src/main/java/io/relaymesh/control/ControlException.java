package io.relaymesh.control;

/**
 * A failure with an HTTP status and a stable error code, answered as
 * {@code {"code": "...", "message": "..."}}. Messages say who, where and why, and never contain
 * secrets.
 */
public final class ControlException extends RuntimeException {

  private final int status;
  private final String code;

  public ControlException(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public static ControlException badRequest(String message) {
    return new ControlException(400, "bad_request", message);
  }

  public static ControlException unauthenticated(String message) {
    return new ControlException(401, "unauthenticated", message);
  }

  public static ControlException forbidden(String message) {
    return new ControlException(403, "forbidden", message);
  }

  public static ControlException notFound(String code, String message) {
    return new ControlException(404, code, message);
  }

  public static ControlException conflict(String code, String message) {
    return new ControlException(409, code, message);
  }
}
