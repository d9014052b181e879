/**
 * Session implementation: state ({@code SessionImpl}), frame semantics ({@code FrameHandler}),
 * streams ({@code StreamImpl} with {@code ReceiveWindow} and {@code SendQueue}), the send loop
 * ({@code Outbound}) and liveness ({@code Liveness}). Event-loop only.
 */
package io.relaymesh.proxy.session.impl;
