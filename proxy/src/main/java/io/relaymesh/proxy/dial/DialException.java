package io.relaymesh.proxy.dial;

import io.vertx.core.VertxException;

/**
 * A tunnel could not be established. The message names the URL and why, e.g.
 * {@code wss://relay.example.com:443/api/v1/tunnel/agent: HTTP 401 unauthenticated: agent token
 * is revoked}. {@link #status()} is the HTTP status of a refused upgrade (0 when the failure came
 * before or after HTTP: connect, proxy, TLS, subprotocol, SETTINGS).
 */
public final class DialException extends VertxException {
  private final String url;
  private final int status;
  private final String code;
  private final String serverMessage;

  public DialException(String url, int status, String code, String serverMessage, String message, Throwable cause) {
    super(url + ": " + message, cause);
    this.url = url;
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }

  public String url() {
    return url;
  }

  /** HTTP status of a refused WebSocket upgrade, else 0. */
  public int status() {
    return status;
  }

  /** The server's error {@code code} from its JSON error body, else null. */
  public String code() {
    return code;
  }

  /** The server's error {@code message} from its JSON error body (or its text body), else null. */
  public String serverMessage() {
    return serverMessage;
  }
}
