package io.relaymesh.proxy.dial;

import io.relaymesh.proxy.session.Session;
import io.vertx.core.MultiMap;
import io.vertx.core.http.WebSocket;

/**
 * A ready tunnel: the client-role {@link Session} (the peer's SETTINGS arrived) over its
 * WebSocket. Closing the session closes the WebSocket and releases the dialer's resources for it.
 *
 * @param session the session (role CLIENT), on the WebSocket's event loop
 * @param webSocket the WebSocket, e.g. for {@code closeStatusCode()}/{@code closeReason()} after close
 * @param url the URL dialed
 * @param proxied whether the connection went through the HTTP CONNECT proxy
 * @param upgradeHeaders the headers of the server's {@code 101 Switching Protocols} answer (a
 *     copy, case-insensitive; empty when unknown)
 */
public record DialedTunnel(Session session, WebSocket webSocket, String url, boolean proxied,
    MultiMap upgradeHeaders) {

  /**
   * Response header of a relay's tunnel upgrade naming the replica that answered,
   * {@code <region>/<replica-id>} ({@code docs/protocol.md}); relays before it send none.
   */
  public static final String REPLICA_HEADER = "Relaymesh-Replica";

  public DialedTunnel {
    upgradeHeaders = upgradeHeaders == null ? MultiMap.caseInsensitiveMultiMap() : upgradeHeaders;
  }

  /** A tunnel whose upgrade headers are unknown. */
  public DialedTunnel(Session session, WebSocket webSocket, String url, boolean proxied) {
    this(session, webSocket, url, proxied, null);
  }

  /**
   * The replica that answered the upgrade ({@link #REPLICA_HEADER}, trimmed), or null when the
   * relay did not say (an older relay) or said something blank.
   */
  public String replica() {
    String v = upgradeHeaders.get(REPLICA_HEADER);
    return v == null || v.isBlank() ? null : v.trim();
  }
}
