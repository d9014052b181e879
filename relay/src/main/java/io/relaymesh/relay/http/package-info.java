/**
 * The relay's plain HTTP endpoints: health, readiness, latency check, consistency check, JSON
 * errors, and the optional plain-HTTP admin listener ({@code relay.admin-listen}).
 */
package io.relaymesh.relay.http;
