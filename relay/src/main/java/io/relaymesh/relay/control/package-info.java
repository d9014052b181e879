/**
 * The relay's side of the control plane's {@code /api/v1/relay/...} API:
 * {@link io.relaymesh.relay.control.ControlClient} (timeouts, jittered retries, no token in any
 * message), {@link io.relaymesh.relay.control.Registration} (register, heartbeat, re-register),
 * {@link io.relaymesh.relay.control.AgentAuthCache} (agent tokens, cached briefly) and
 * {@link io.relaymesh.relay.control.Reporter} (presence, connection log).
 */
package io.relaymesh.relay.control;
