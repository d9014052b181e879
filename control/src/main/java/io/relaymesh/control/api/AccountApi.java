package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.auth.Passwords;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Model.User;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** First-user setup, login/logout, the current user, and user management (admins). */
final class AccountApi {

  /** Failed logins are counted over this window. */
  static final long FAILURE_WINDOW_SECONDS = 15 * 60;
  /** More failures than this for one username within the window block its logins. */
  static final int MAX_FAILURES_PER_USER = 5;
  /** More failures than this from one client address within the window block its logins. */
  static final int MAX_FAILURES_PER_ADDRESS = 20;

  private final Services s;

  AccountApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    handle(r.get("/api/v1/setup"), ctx -> s.users().count()
        .map(n -> Reply.ok(new JsonObject().put("setupRequired", n == 0))));
    handle(r.post("/api/v1/setup"), this::setup);
    handle(r.post("/api/v1/login"), this::login);
    handle(r.post("/api/v1/logout"), ctx -> Api.user(s, ctx)
        .compose(p -> s.sessions().revoke(p.sessionId()))
        .map(x -> Reply.noContent()));
    handle(r.get("/api/v1/me"), ctx -> Api.user(s, ctx)
        .compose(p -> s.users().find(p.username()))
        .map(u -> Reply.ok(u.toJson())));
    handle(r.get("/api/v1/users"), ctx -> Api.admin(s, ctx)
        .compose(p -> s.users().list())
        .map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(u -> a.add(u.toJson()));
          return Reply.ok(new JsonObject().put("users", a));
        }));
    handle(r.post("/api/v1/users"), this::createUser);
    handle(r.delete("/api/v1/users/:username"), this::deleteUser);
  }

  private Future<Reply> setup(RoutingContext ctx) {
    JsonObject b = Api.body(ctx);
    String username = Api.name(b, "username", "user", true);
    String password = checkedPassword(b);
    return hash(password)
        .compose(h -> s.users().createFirstAdmin(username, h))
        .map(u -> Reply.created(new JsonObject().put("user", u.toJson())));
  }

  private Future<Reply> createUser(RoutingContext ctx) {
    return Api.admin(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String username = Api.name(b, "username", "user", true);
      String password = checkedPassword(b);
      Object admin = b.getValue("admin", false);
      if (!(admin instanceof Boolean isAdmin)) {
        throw ControlException.badRequest("field 'admin' must be true or false");
      }
      return hash(password).compose(h -> s.users().create(username, h, isAdmin));
    }).map(u -> Reply.created(new JsonObject().put("user", u.toJson())));
  }

  private Future<Reply> deleteUser(RoutingContext ctx) {
    return Api.admin(s, ctx).compose(p -> {
      String username = ctx.pathParam("username");
      if (username.equals(p.username())) {
        throw ControlException.conflict("cannot_delete_self",
            "user '" + username + "' cannot delete itself");
      }
      return s.users().delete(username).map(deleted -> {
        if (!deleted) {
          throw ControlException.notFound("user_not_found", "user '" + username + "' not found");
        }
        return Reply.noContent();
      });
    });
  }

  private Future<Reply> login(RoutingContext ctx) {
    JsonObject b = Api.body(ctx);
    String username = Api.string(b, "username", true);
    String password = Api.string(b, "password", true);
    if (username.length() > 256 || password.length() > Passwords.MAX_LENGTH) {
      throw ControlException.badRequest("username or password too long");
    }
    String address = Api.clientAddress(ctx);
    return s.sessions().recentFailures(username, address, FAILURE_WINDOW_SECONDS)
        .compose(counts -> {
          if (counts[0] >= MAX_FAILURES_PER_USER) {
            throw new ControlException(429, "rate_limited", "too many failed logins for user '"
                + Api.abbreviate(username) + "'; try again in a few minutes");
          }
          if (counts[1] >= MAX_FAILURES_PER_ADDRESS) {
            throw new ControlException(429, "rate_limited", "too many failed logins from "
                + address + "; try again in a few minutes");
          }
          return s.users().find(username);
        })
        .compose(u -> s.vertx().executeBlocking(() -> {
          if (u == null) {
            Passwords.verifyDummy(password);
            return (User) null;
          }
          return Passwords.verify(password, u.passwordHash()) ? u : null;
        }, false))
        .compose(u -> {
          if (u == null) {
            return s.sessions().recordFailure(username, address)
                .compose(x -> Future.failedFuture(new ControlException(401, "invalid_credentials",
                    "wrong username or password")));
          }
          String token = Tokens.generate(TokenKind.SESSION);
          return s.sessions().create(u.id(), Tokens.hash(token),
                  s.config().sessionTtl().toSeconds(), address)
              .compose(exp -> s.sessions().clearFailures(username, FAILURE_WINDOW_SECONDS)
                  .map(x -> Reply.ok(new JsonObject().put("token", token)
                      .put("expiresAt", exp.toString()).put("user", u.toJson()))));
        });
  }

  private static String checkedPassword(JsonObject b) {
    String password = Api.string(b, "password", true);
    String weak = Passwords.weakness(password);
    if (weak != null) {
      throw ControlException.badRequest(weak);
    }
    return password;
  }

  private Future<String> hash(String password) {
    return s.vertx().executeBlocking(() -> Passwords.hash(password), false);
  }
}
