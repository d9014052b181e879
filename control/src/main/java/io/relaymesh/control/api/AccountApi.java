package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.auth.Passwords;
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
    String username;
    String password;
    try {
      JsonObject b = Api.body(ctx);
      username = Api.string(b, "username", true);
      password = Api.string(b, "password", true);
    } catch (ControlException e) {
      s.metrics().loginFailed(ControlMetrics.BAD_REQUEST);
      throw e;
    }
    return new PasswordLogin(s).login(username, password, PasswordLogin.clientAddress(ctx))
        .map(session -> Reply.ok(new JsonObject().put("token", session.token())
            .put("expiresAt", session.expiresAt().toString())
            .put("user", session.user().toJson())));
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
