package io.relaymesh.relay.apps;

import io.relaymesh.relay.control.ControlClient;
import io.relaymesh.relay.control.ControlException;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;

/**
 * The relay's view of the control plane's app API ({@code /api/v1/relay/apps/*}, docs/apps.md):
 * resolving an app label (cached {@value #RESOLVE_TTL_SECONDS} s, refusals
 * {@value #NEGATIVE_TTL_SECONDS} s, single flight per app, asked again in the background once
 * half the time is over while requests keep using the answer), exchanging a session token for an
 * app token (cached by the token's SHA-256 and the app until the app token expires, so a revoked
 * session stops working within one app-token lifetime), handoff codes and refreshes (never
 * cached). Tokens and codes are never logged nor kept in clear as cache keys.
 *
 * <p>Threading: thread-safe; futures may complete on another event loop's context (single
 * flight), so callers hop back to their own.
 */
public final class AppsControl {

  static final int RESOLVE_TTL_SECONDS = 10;
  static final int NEGATIVE_TTL_SECONDS = 3;
  static final Duration MAX_GRANT_CACHE = Duration.ofMinutes(10);
  static final int MAX_ENTRIES = 10_000;

  /**
   * An app as the control plane resolved it.
   *
   * @param level {@code owner}, {@code authenticated} or {@code public}
   * @param authUrl the control plane's {@code /apps/auth} page (browser login flow)
   */
  public record Resolved(String app, String owner, long ownerId, String workspace,
      long workspaceId, String agent, long agentId, int port, boolean https, String level,
      String authUrl) {

    static Resolved fromJson(JsonObject j) {
      return new Resolved(j.getString("app"), j.getString("owner"), j.getLong("ownerId", 0L),
          j.getString("workspace"), j.getLong("workspaceId", 0L), j.getString("agent"),
          j.getLong("agentId", 0L), j.getInteger("port", 0), j.getBoolean("https", false),
          j.getString("level", "owner"), j.getString("authUrl"));
    }

    /** Whether anyone may open it without logging in. */
    public boolean isPublic() {
      return "public".equals(level);
    }

    /** {@code owner/workspace}. */
    public String workspaceFullName() {
      return owner + "/" + workspace;
    }
  }

  /**
   * An app token issued by the control plane.
   *
   * @param refreshUntil until when it can be refreshed (the session's expiry): the cookie's life
   */
  public record Grant(String appToken, Instant expiresAt, Instant refreshUntil, String username) {

    static Grant fromJson(JsonObject j) {
      return new Grant(j.getString("appToken"), instant(j.getValue("expiresAt")),
          instant(j.getValue("refreshUntil")), j.getString("username"));
    }

    @Override
    public String toString() {
      return "Grant[user " + username + ", expires " + expiresAt + "]"; // never the token
    }
  }

  private final ControlClient control;
  // refreshed ahead of expiry: an app in use never makes every request in flight wait for (and,
  // when the control plane is slow or briefly unreachable, fail with) one call
  private final AppsControlCache<Resolved> resolved =
      new AppsControlCache<>(MAX_ENTRIES, true, System::nanoTime);
  private final AppsControlCache<Grant> grants =
      new AppsControlCache<>(MAX_ENTRIES, true, System::nanoTime);

  public AppsControl(ControlClient control) {
    this.control = control;
  }

  /** Resolves app label {@code app}; fails with the control plane's {@link ControlException}. */
  public Future<Resolved> resolve(String app) {
    return resolved.get(app, () -> control.appResolve(app).map(Resolved::fromJson),
        ar -> ar.succeeded() ? Duration.ofSeconds(RESOLVE_TTL_SECONDS) : negativeTtl(ar));
  }

  /** Exchanges a session token for an app token of {@code app} (cached, see the class doc). */
  public Future<Grant> authorize(String app, String sessionToken) {
    return grants.get(sha256Hex(sessionToken) + "|" + app,
        () -> control.appAuthorize(app, sessionToken).map(Grant::fromJson),
        ar -> ar.succeeded() ? until(ar.result().expiresAt()) : negativeTtl(ar));
  }

  /** Exchanges a one-time handoff code for an app token. */
  public Future<Grant> handoff(String app, String code) {
    return control.appHandoff(app, code).map(Grant::fromJson);
  }

  /** Exchanges an expired, genuine app token for a new one. */
  public Future<Grant> refresh(String app, String appToken) {
    return control.appRefresh(app, appToken).map(Grant::fromJson);
  }

  /**
   * The control plane's own sentence of a refusal, without the call's URL and status (which
   * {@link ControlException#getMessage()} carries for logs).
   */
  public static String reason(ControlException e) {
    String m = String.valueOf(e.getMessage());
    String marker = e.code() + ": ";
    int i = m.indexOf(marker);
    return i >= 0 && e.status() > 0 ? m.substring(i + marker.length()) : m;
  }

  /** A refusal (4xx) is remembered briefly; an unreachable control plane is not. */
  private static Duration negativeTtl(AsyncResult<?> ar) {
    return ar.cause() instanceof ControlException ce && ce.status() >= 400 && ce.status() < 500
        ? Duration.ofSeconds(NEGATIVE_TTL_SECONDS) : Duration.ZERO;
  }

  private static Duration until(Instant expiresAt) {
    if (expiresAt == null) {
      return Duration.ZERO;
    }
    Duration d = Duration.between(Instant.now(), expiresAt);
    return d.compareTo(MAX_GRANT_CACHE) > 0 ? MAX_GRANT_CACHE : d;
  }

  /** ISO-8601 text or epoch seconds/milliseconds; {@code null} when absent or unreadable. */
  static Instant instant(Object v) {
    if (v instanceof Number n) {
      long l = n.longValue();
      return l > 100_000_000_000L ? Instant.ofEpochMilli(l) : Instant.ofEpochSecond(l);
    }
    if (v instanceof String s) {
      try {
        return Instant.parse(s);
      } catch (DateTimeParseException e) {
        try {
          return java.time.OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e2) {
          return null;
        }
      }
    }
    return null;
  }

  static String sha256Hex(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }
}
