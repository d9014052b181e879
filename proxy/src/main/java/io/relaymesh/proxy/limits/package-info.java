/**
 * Abuse limits as small decorators that count what they drop with a reason label
 * ({@link io.relaymesh.proxy.limits.AbuseGuard}, {@link io.relaymesh.proxy.limits.RateLimiter}).
 */
package io.relaymesh.proxy.limits;
