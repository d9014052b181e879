/**
 * The multiplexed tunnel session API: {@link io.relaymesh.proxy.session.Session} over a
 * {@link io.relaymesh.proxy.transport.TunnelTransport}, its {@link io.relaymesh.proxy.session.Stream}s
 * (Vert.x {@code ReadStream}/{@code WriteStream}), and the
 * {@link io.relaymesh.proxy.session.SessionMetrics} SPI. Implementation in {@code impl}.
 * Threading: a session and its streams are confined to one Vert.x context; no locks.
 */
package io.relaymesh.proxy.session;
