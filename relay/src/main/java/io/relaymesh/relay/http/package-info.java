/** The relay's plain HTTP endpoints: health, readiness, latency check, metrics, JSON errors. */
package io.relaymesh.relay.http;
