/**
 * The regional relay. {@link io.relaymesh.relay.RelayServer} is the public API: start it on a
 * Vert.x instance ({@code start}) or on its own ({@code run}), read its URL, port and certificate,
 * drain and close it.
 *
 * <ul>
 *   <li>{@code relay.tls}: TLS termination (certificate files or self-signed, OpenSSL or JDK).
 *   <li>{@code relay.control}: the control-plane client (registration, heartbeat, agent-token
 *       cache, presence, connection log).
 *   <li>{@code relay.tunnel}: agent and client tunnel endpoints, agent registry, per-stream
 *       authorization and splicing.
 *   <li>{@code relay.http}: health, readiness, latency check, metrics.
 * </ul>
 *
 * <p>Logs: one line per tunnel and per spliced connection at open and at close, with ids, user,
 * workspace, agent, bytes, duration and close reason; never a token or ticket.
 */
package io.relaymesh.relay;
