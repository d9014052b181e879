/**
 * Telemetry shared by every Relaymesh process: the Micrometer registry with its Prometheus
 * exposition ({@link io.relaymesh.telemetry.Metrics}), the check that every exposed metric is
 * documented in {@code docs/metrics.md} ({@link io.relaymesh.telemetry.MetricsDoc}), and the
 * structured log layouts.
 */
package io.relaymesh.telemetry;
