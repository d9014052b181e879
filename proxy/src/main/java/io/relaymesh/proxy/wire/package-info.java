/**
 * The tunnel wire format (docs/protocol.md): {@link io.relaymesh.proxy.wire.WireSpec} holds every
 * constant; {@link io.relaymesh.proxy.wire.FrameReader} decodes a WebSocket message into
 * {@link io.relaymesh.proxy.wire.FrameListener} callbacks without keeping session state;
 * {@link io.relaymesh.proxy.wire.FrameWriter} and {@link io.relaymesh.proxy.wire.MessageBuilder}
 * encode. Everything here is free of session state and usable from benchmarks.
 */
package io.relaymesh.proxy.wire;
