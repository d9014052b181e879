package io.relaymesh.control.api;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.auth.Passwords;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Model.User;
import io.vertx.core.Future;
import java.time.Instant;

/**
 * Password login with the failed-login rate limits, shared by {@code POST /api/v1/login} (JSON)
 * and the dashboard's {@code POST /login} (form, cookie): both create the same kind of session
 * (an {@code rms_} token stored as its digest).
 */
public final class PasswordLogin {

  /** A new session: the token (shown to the caller once), its expiry and its user. */
  public record Session(String token, Instant expiresAt, User user) {
    @Override
    public String toString() {
      return "Session[token=******, expiresAt=" + expiresAt + ", user=" + user.username() + "]";
    }
  }

  private final Services s;

  public PasswordLogin(Services s) {
    this.s = s;
  }

  /**
   * Checks the rate limits and the password, records a failure or creates a session. Fails with
   * a {@link ControlException}: 400 (too long), 429 {@code rate_limited}, 401
   * {@code invalid_credentials}.
   */
  public Future<Session> login(String username, String password, String address) {
    ControlMetrics m = s.metrics();
    if (username.length() > 256 || password.length() > Passwords.MAX_LENGTH) {
      m.loginFailed(ControlMetrics.BAD_REQUEST);
      return Future.failedFuture(ControlException.badRequest("username or password too long"));
    }
    return s.sessions().recentFailures(username, address, AccountApi.FAILURE_WINDOW_SECONDS)
        .compose(counts -> {
          if (counts[0] >= AccountApi.MAX_FAILURES_PER_USER) {
            m.loginFailed(ControlMetrics.RATE_LIMITED);
            throw new ControlException(429, "rate_limited", "too many failed logins for user '"
                + Api.abbreviate(username) + "'; try again in a few minutes");
          }
          if (counts[1] >= AccountApi.MAX_FAILURES_PER_ADDRESS) {
            m.loginFailed(ControlMetrics.RATE_LIMITED);
            throw new ControlException(429, "rate_limited", "too many failed logins from "
                + address + "; try again in a few minutes");
          }
          return s.users().find(username);
        })
        .compose(u -> s.vertx().executeBlocking(() -> {
          if (u == null) {
            Passwords.verifyDummy(password);
            return new Checked(null, ControlMetrics.UNKNOWN_USER);
          }
          return Passwords.verify(password, u.passwordHash()) ? new Checked(u, null)
              : new Checked(null, ControlMetrics.BAD_PASSWORD);
        }, false))
        .compose(checked -> {
          User u = checked.user();
          if (u == null) {
            m.loginFailed(checked.failure());
            return s.sessions().recordFailure(username, address)
                .compose(x -> Future.failedFuture(new ControlException(401, "invalid_credentials",
                    "wrong username or password")));
          }
          String token = Tokens.generate(TokenKind.SESSION);
          return s.sessions().create(u.id(), Tokens.hash(token),
                  s.config().sessionTtl().toSeconds(), address)
              .compose(exp -> s.sessions().clearFailures(username,
                      AccountApi.FAILURE_WINDOW_SECONDS)
                  .map(x -> new Session(token, exp, u)));
        });
  }

  /** The password check: the user, or why not (a failed-login reason). */
  private record Checked(User user, String failure) {}

  /** The client's address as the login rate limits count it (JSON API and login page alike). */
  public static String clientAddress(io.vertx.ext.web.RoutingContext ctx) {
    var a = ctx.request().remoteAddress();
    return a == null ? "unknown" : a.hostAddress() != null ? a.hostAddress() : a.host();
  }
}
