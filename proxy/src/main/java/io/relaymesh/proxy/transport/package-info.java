/**
 * What a session runs on: {@link io.relaymesh.proxy.transport.TunnelTransport}, with the Vert.x
 * WebSocket adapter (and subprotocol negotiation) and an in-memory pair for tests and benchmarks.
 */
package io.relaymesh.proxy.transport;
