package io.relaymesh.proxy.dial;

import io.relaymesh.proxy.session.Session;
import io.vertx.core.http.WebSocket;

/**
 * A ready tunnel: the client-role {@link Session} (the peer's SETTINGS arrived) over its
 * WebSocket. Closing the session closes the WebSocket and releases the dialer's resources for it.
 *
 * @param session the session (role CLIENT), on the WebSocket's event loop
 * @param webSocket the WebSocket, e.g. for {@code closeStatusCode()}/{@code closeReason()} after close
 * @param url the URL dialed
 * @param proxied whether the connection went through the HTTP CONNECT proxy
 */
public record DialedTunnel(Session session, WebSocket webSocket, String url, boolean proxied) {}
