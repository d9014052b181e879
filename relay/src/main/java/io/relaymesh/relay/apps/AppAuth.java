package io.relaymesh.relay.apps;

import io.relaymesh.control.apps.AppHost;
import io.relaymesh.control.apps.AppTokens;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketVerifier;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.ControlException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is asking for an app, in the order of docs/apps.md: the relay's app cookie (an app token,
 * verified offline; an expired but genuine one is refreshed at the control plane and the new one
 * is set on the response; a refused one is cleared), {@code Authorization: Bearer rms_...}, then
 * {@code Relaymesh-Session-Token} (both exchanged at the control plane, cached). A public share
 * needs nothing. Whether the user may open the app is the control plane's decision: it issues app
 * tokens only to allowed users. A request refused for want of a usable credential (status 0:
 * sign-in needed) is logged here in one line saying why the cookie, if any, was not used; a
 * refusal with a status is logged by the {@link AppRouter}: one line per refused request, never
 * a token.
 *
 * <p>Threading: call on the request's context; token verification runs on a worker (it may fetch
 * keys); the result may complete on another context (hop back).
 */
public final class AppAuth {

  private static final Logger LOG = LoggerFactory.getLogger(AppAuth.class);
  /** Cookie name prefix; the rest is the first 12 hex digits of SHA-256 of the app host name. */
  public static final String COOKIE_PREFIX = "__Host-relaymesh_app_";

  /**
   * The outcome.
   *
   * @param allowed whether the request may go to the app
   * @param username who (null: anonymous on a public share, or not allowed)
   * @param status when not allowed: 0 for "no usable credential" (login), else the status to
   *     answer (401, 403, 503)
   * @param code stable error code when not allowed
   * @param message a sentence for the user when not allowed (never a token)
   * @param setCookie a {@code Set-Cookie} value to send with the answer (new or cleared app
   *     cookie), or null
   * @param appToken the app token that allowed the request (null: public share), for the relay
   *     holding the agent when the request is forwarded (it verifies it again); never logged
   * @param logDetail for the operator, appended to the refusal's single log line (e.g. why the
   *     control plane could not be asked), or null; never a token
   */
  public record Decision(boolean allowed, String username, int status, String code,
      String message, String setCookie, String appToken, String logDetail) {

    static Decision allow(String username, String setCookie, String appToken) {
      return new Decision(true, username, 0, null, null, setCookie, appToken, null);
    }

    static Decision refuse(int status, String code, String message) {
      return refuse(status, code, message, null);
    }

    static Decision refuse(int status, String code, String message, String logDetail) {
      return new Decision(false, null, status, code, message, null, null, logDetail);
    }

    static final Decision NONE = new Decision(false, null, 0, "unauthenticated", null, null,
        null, null);

    /** An app cookie that cannot be used ({@code why}, for the log); the next one is tried. */
    static Decision cookieRefused(String why) {
      return new Decision(false, null, 0, "app_cookie_refused", why, null, null, null);
    }

    Decision withCookie(String cookie) {
      return new Decision(allowed, username, status, code, message,
          setCookie != null ? setCookie : cookie, appToken, logDetail);
    }

    @Override
    public String toString() { // never the cookie or the token
      return "Decision[" + (allowed ? "allowed " + username : "refused " + status + " " + code)
          + "]";
    }
  }

  /**
   * What the relay holding the agent accepted for an app stream another relay forwarded.
   *
   * @param app the app as this relay resolved it (agent, port: not the forwarding relay's word)
   * @param username who, from the verified app token; null on a public share (anonymous)
   */
  public record PeerGrant(AppsControl.Resolved app, String username) {}

  /** Why the relay holding the agent refuses a forwarded app stream: {@code code} and reason. */
  public static final class PeerRefusal extends RuntimeException {
    private final ErrorCode code;

    PeerRefusal(ErrorCode code, String reason) {
      super(reason, null, false, false);
      this.code = code;
    }

    public ErrorCode code() {
      return code;
    }
  }

  private final Vertx vertx;
  private final TicketVerifier verifier;
  private final AppsControl control;
  /**
   * App tokens already verified, until they expire: a browser sends the same cookie with every
   * request, and an ES256 check plus a worker hop per request is work done again for nothing.
   */
  private final AppsControlCache<AppTokens.Claims> verified = new AppsControlCache<>(10_000);

  public AppAuth(Vertx vertx, TicketVerifier verifier, AppsControl control) {
    this.vertx = vertx;
    this.verifier = verifier;
    this.control = control;
  }

  /** The app cookie's name for app host {@code host} (port ignored, case-insensitive). */
  public static String cookieName(String host) {
    String h = AppHost.stripPort(host).toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return COOKIE_PREFIX + AppsControl.sha256Hex(h).substring(0, 12);
  }

  /** {@code Set-Cookie} holding {@code grant}'s app token until its refresh deadline. */
  public static String setCookie(String name, AppsControl.Grant grant) {
    Instant until = grant.refreshUntil() != null ? grant.refreshUntil() : grant.expiresAt();
    long maxAge = until == null ? 60
        : Math.max(1, Duration.between(Instant.now(), until).toSeconds());
    return name + "=" + grant.appToken() + "; Max-Age=" + maxAge
        + "; Path=/; Secure; HttpOnly; SameSite=Lax";
  }

  /** {@code Set-Cookie} that removes the app cookie. */
  public static String clearCookie(String name) {
    return name + "=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";
  }

  /** Decides for {@code req} to app {@code app} as resolved in {@code resolved}. */
  public Future<Decision> decide(HttpServerRequest req, AppHost app,
      AppsControl.Resolved resolved, String cookieName) {
    if (resolved.isPublic()) {
      return Future.succeededFuture(Decision.allow(null, null, null));
    }
    String label = app.label();
    String cookie = AppHeaders.cookie(req.headers(), cookieName);
    // read the headers now: the request may be gone by the time the cookie is checked
    String sessionToken = sessionToken(req);
    String from = req.remoteAddress() == null ? "unknown" : req.remoteAddress().hostAddress();
    Future<Decision> byCookie = cookie == null ? Future.succeededFuture(null)
        : fromCookie(label, cookie, cookieName);
    return byCookie.compose(d -> {
      if (d != null && (d.allowed() || d.status() == 503)) {
        return Future.succeededFuture(d);
      }
      String clear = cookie != null ? clearCookie(cookieName) : null; // it was refused
      String cookieWhy = d == null ? null : d.message();
      return fromSessionToken(label, sessionToken).map(h -> {
        // one line per refused request: a refusal with a status is logged by the router; one
        // without (no usable credential: sign-in needed) here, with why the cookie was not used
        if (!h.allowed() && h.status() == 0) {
          LOG.info("app {}: request from {} refused: {}; sign-in required", label, from,
              cookieWhy != null ? cookieWhy : "no app cookie and no session token");
        } else if (cookieWhy != null) {
          LOG.debug("app {}: {}", label, cookieWhy);
        }
        return h.withCookie(clear);
      });
    });
  }

  /** {@code Authorization: Bearer rms_...}, else {@code Relaymesh-Session-Token}, else null. */
  static String sessionToken(HttpServerRequest req) {
    String bearer = AppHeaders.bearer(req.getHeader("Authorization"));
    if (bearer != null && bearer.startsWith("rms_")) {
      return bearer;
    }
    String header = req.getHeader(AppHeaders.SESSION_HEADER);
    return header == null || header.isBlank() ? null : header.trim();
  }

  /**
   * For an app stream another relay of this control plane forwarded to this one (the relay
   * holding the agent), docs/apps.md "Several relays": the app {@code label} is resolved here
   * again (cached) and must be public, or {@code appToken} must be a genuine, unexpired app
   * token for exactly this app (verified offline like the cookie, same cache). The forwarding
   * relay is trusted for nothing: it only proved, with its peer ticket, to be a relay. Fails
   * with {@link PeerRefusal}.
   */
  public Future<PeerGrant> forwarded(String label, String appToken) {
    return control.resolve(label).transform(r -> {
      if (r.failed()) {
        if (r.cause() instanceof ControlException ce && ce.status() >= 400
            && ce.status() < 500) {
          return Future.failedFuture(new PeerRefusal(ce.status() == 404 ? ErrorCode.NOT_FOUND
              : ErrorCode.FORBIDDEN, "app " + label + ": " + AppsControl.reason(ce)));
        }
        return Future.failedFuture(new PeerRefusal(ErrorCode.INTERNAL, "the relay holding the"
            + " agent cannot reach the control plane to look up app " + label));
      }
      AppsControl.Resolved app = r.result();
      if (app.isPublic()) {
        return Future.succeededFuture(new PeerGrant(app, null));
      }
      if (appToken == null || appToken.isBlank()) {
        return Future.failedFuture(new PeerRefusal(ErrorCode.UNAUTHORIZED, "app " + label
            + " is shared at level '" + app.level() + "': a forwarded request needs its app"
            + " token (\"appToken\" in the OPEN metadata)"));
      }
      return verify(label, appToken).transform(v -> {
        if (v.failed()) {
          if (v.cause() instanceof TicketException te
              && te.reason() == TicketException.Reason.KEYS_UNAVAILABLE) {
            return Future.failedFuture(new PeerRefusal(ErrorCode.INTERNAL, "the relay holding"
                + " the agent cannot fetch the signing keys to check the app token"));
          }
          return Future.failedFuture(new PeerRefusal(ErrorCode.UNAUTHORIZED, "app token"
              + " refused by the relay holding the agent: " + v.cause().getMessage()));
        }
        AppTokens.Claims claims = v.result();
        // no clock skew allowance here: the forwarding relay refreshes an expired token before
        // it forwards, so the holder need not (and must not let a peer replay a stale one)
        if (claims.expired(verifier.clock().instant(), java.time.Duration.ZERO)) {
          return Future.failedFuture(new PeerRefusal(ErrorCode.UNAUTHORIZED, "app token of "
              + claims.username() + " for app " + label + " expired at "
              + claims.expiresAt()));
        }
        return Future.succeededFuture(new PeerGrant(app, claims.username()));
      });
    });
  }

  /** {@code token} verified for app {@code label} (cached while it is valid). */
  private Future<AppTokens.Claims> verify(String label, String token) {
    return verified.get(label + ' ' + token,
        () -> vertx.executeBlocking(() -> AppTokens.verify(verifier, token, label), false),
        ar -> ar.succeeded() ? Duration.between(verifier.clock().instant(),
            ar.result().expiresAt()) : Duration.ZERO);
  }

  /**
   * A refusal of status 0 saying why ({@link Decision#cookieRefused}) when the cookie is not
   * usable (then it is cleared and the next credential tried).
   */
  private Future<Decision> fromCookie(String label, String token, String cookieName) {
    return verify(label, token)
        .transform(ar -> {
          if (ar.failed()) {
            if (ar.cause() instanceof TicketException te
                && te.reason() == TicketException.Reason.KEYS_UNAVAILABLE) {
              return Future.succeededFuture(Decision.refuse(503, "control_plane_unavailable",
                  "the relay cannot check your app sign-in right now (signing keys unavailable);"
                      + " try again shortly", "app cookie not checked: signing keys unavailable"));
            }
            return Future.succeededFuture(Decision.cookieRefused("app cookie refused: "
                + ar.cause().getMessage()));
          }
          AppTokens.Claims claims = ar.result();
          if (!claims.expired(verifier.clock().instant(), Duration.ZERO)) {
            return Future.succeededFuture(Decision.allow(claims.username(), null, token));
          }
          return control.refresh(label, token).transform(r -> {
            if (r.succeeded()) {
              return Future.succeededFuture(Decision.allow(r.result().username(),
                  setCookie(cookieName, r.result()), r.result().appToken()));
            }
            if (r.cause() instanceof ControlException ce && ce.status() >= 400
                && ce.status() < 500) {
              return Future.succeededFuture(Decision.cookieRefused("app cookie of "
                  + claims.username() + " expired and not refreshed: " + ce.code() + " "
                  + AppsControl.reason(ce)));
            }
            return Future.succeededFuture(unavailable(r.cause()));
          });
        });
  }

  private Future<Decision> fromSessionToken(String label, String token) {
    if (token == null) {
      return Future.succeededFuture(Decision.NONE);
    }
    return control.authorize(label, token).transform(ar -> {
      if (ar.succeeded()) {
        return Future.succeededFuture(Decision.allow(ar.result().username(), null,
            ar.result().appToken()));
      }
      if (ar.cause() instanceof ControlException ce && (ce.status() == 401
          || ce.status() == 403)) {
        return Future.succeededFuture(Decision.refuse(ce.status(), ce.code(),
            AppsControl.reason(ce)));
      }
      if (ar.cause() instanceof ControlException ce && ce.status() == 400) {
        return Future.succeededFuture(Decision.refuse(401, ce.code(), AppsControl.reason(ce)));
      }
      return Future.succeededFuture(unavailable(ar.cause()));
    });
  }

  /** A 503 refusal; the cause goes into the refusal's one log line ({@link AppRouter}). */
  static Decision unavailable(Throwable e) {
    return Decision.refuse(503, "control_plane_unavailable", "the relay cannot reach the"
        + " control plane to check your sign-in right now; try again shortly",
        "control plane call failed: " + e.getMessage());
  }
}
