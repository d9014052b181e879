package io.relaymesh.relay.apps;

/**
 * An app request that failed before anything was written to the browser: the caller renders
 * {@code status} with {@code message} as an error page. {@code code} is a stable token for logs
 * and metrics ({@code app_unreachable}, {@code agent_not_connected}, {@code upstream_timeout},
 * {@code bad_upstream_response}, ...). Messages say who/where/why and never carry credentials.
 */
public final class AppProxyException extends RuntimeException {

  private final int status;
  private final String code;

  public AppProxyException(int status, String code, String message) {
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
}
