package io.relaymesh.agent.tunnel;

/** The control plane rejected the agent token (HTTP 401/403); retried at the backoff cap. */
public final class TokenRejectedException extends IllegalStateException {
  public TokenRejectedException(String message) {
    super(message);
  }
}
