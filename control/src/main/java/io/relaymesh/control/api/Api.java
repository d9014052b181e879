package io.relaymesh.control.api;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Shared helpers of the HTTP handlers: replies, errors, authentication, input checks. */
final class Api {

  private static final Logger log = LoggerFactory.getLogger(Api.class);

  /** Names that appear in app subdomains: lowercase words joined by single dashes. */
  static final Pattern NAME = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
  static final int NAME_MAX = 32;
  static final String SESSION_HEADER = "Relaymesh-Session-Token";

  private Api() {}

  /** A status plus an optional JSON body. */
  record Reply(int status, Object body) {
    static Reply ok(Object body) {
      return new Reply(200, body);
    }

    static Reply created(Object body) {
      return new Reply(201, body);
    }

    static Reply noContent() {
      return new Reply(204, null);
    }
  }

  /** Installs an async handler: its reply is written, its failure goes to the failure handler. */
  static void handle(Route route, Function<RoutingContext, Future<Reply>> fn) {
    route.handler(ctx -> {
      ControlMetrics.route(ctx, route);
      Future<Reply> f;
      try {
        f = fn.apply(ctx);
      } catch (RuntimeException e) {
        f = Future.failedFuture(e);
      }
      f.onSuccess(r -> write(ctx, r)).onFailure(ctx::fail);
    });
  }

  static void write(RoutingContext ctx, Reply r) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(r.status()).putHeader("Cache-Control", "no-store");
    if (r.body() == null) {
      ctx.response().end();
    } else {
      if (!ctx.response().headers().contains("Content-Type")) {
        ctx.response().putHeader("Content-Type", "application/json");
      }
      ctx.response().end(r.body() instanceof JsonObject o ? o.encode() : String.valueOf(r.body()));
    }
  }

  /** The failure handler: one error shape everywhere. */
  static void failure(RoutingContext ctx) {
    Throwable e = ctx.failure();
    int status;
    String code;
    String message;
    if (e instanceof ControlException ce) {
      status = ce.status();
      code = ce.code();
      message = ce.getMessage();
    } else if (e instanceof DecodeException) {
      status = 400;
      code = "bad_request";
      message = "request body is not valid JSON";
    } else if (e == null) {
      status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      code = switch (status) {
        case 404 -> "not_found";
        case 405 -> "method_not_allowed";
        case 413 -> "request_too_large";
        case 400 -> "bad_request";
        default -> "error";
      };
      message = switch (status) {
        case 404 -> "no such endpoint: " + ctx.request().method() + " " + ctx.request().path();
        case 405 -> "method " + ctx.request().method() + " not allowed on " + ctx.request().path();
        case 413 -> "request body too large";
        default -> "request failed with status " + status;
      };
    } else {
      status = 500;
      code = "internal";
      message = "internal error; see the control-plane log";
      log.error("{} {} failed", ctx.request().method(), ctx.request().path(), e);
    }
    if (status == 429) {
      ctx.response().putHeader("Retry-After", "60");
    }
    write(ctx, new Reply(status, new JsonObject().put("code", code).put("message", message)));
  }

  static JsonObject body(RoutingContext ctx) {
    JsonObject o;
    try {
      o = ctx.body() == null || ctx.body().length() == 0 ? null : ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw ControlException.badRequest("request body is not a JSON object");
    }
    if (o == null) {
      throw ControlException.badRequest("request body must be a JSON object");
    }
    return o;
  }

  static String string(JsonObject o, String key, boolean required) {
    Object v = o.getValue(key);
    if (v == null) {
      if (required) {
        throw ControlException.badRequest("field '" + key + "' is required");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw ControlException.badRequest("field '" + key + "' must be a string");
    }
    return s;
  }

  static String name(JsonObject o, String key, String what, boolean required) {
    String s = string(o, key, required);
    if (s != null) {
      checkName(s, what);
    }
    return s;
  }

  static void checkName(String s, String what) {
    if (s.length() > NAME_MAX || !NAME.matcher(s).matches()) {
      throw ControlException.badRequest(what + " name '" + abbreviate(s)
          + "' is invalid: use lowercase letters, digits and single dashes, at most " + NAME_MAX
          + " characters");
    }
  }

  static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  /** The bearer token of the request, or {@code null}. */
  static String token(RoutingContext ctx) {
    String h = ctx.request().getHeader("Authorization");
    if (h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return h.substring(7).strip();
    }
    String s = ctx.request().getHeader(SESSION_HEADER);
    return s == null ? null : s.strip();
  }

  /** Authenticates a user session. */
  static Future<Principal.User> user(Services s, RoutingContext ctx) {
    String t = token(ctx);
    if (t == null) {
      return Future.failedFuture(ControlException.unauthenticated(
          "a session token is required (Authorization: Bearer rms_...); log in first"));
    }
    if (!Tokens.wellFormed(t, TokenKind.SESSION)) {
      return Future.failedFuture(ControlException.unauthenticated(
          "this endpoint requires a user session token (rms_...)"));
    }
    return s.sessions().authenticate(Tokens.hash(t)).compose(p -> p != null
        ? Future.succeededFuture(p)
        : Future.failedFuture(ControlException.unauthenticated(
            "session token is expired, revoked or unknown; log in again")));
  }

  /** Authenticates an admin session. */
  static Future<Principal.User> admin(Services s, RoutingContext ctx) {
    return user(s, ctx).compose(p -> p.admin()
        ? Future.succeededFuture(p)
        : Future.failedFuture(ControlException.forbidden(
            "user '" + p.username() + "' is not an admin")));
  }

  /** Authenticates a relay. */
  static Future<Principal.Relay> relay(Services s, RoutingContext ctx) {
    String t = token(ctx);
    if (t == null) {
      return Future.failedFuture(ControlException.unauthenticated(
          "a relay token is required (Authorization: Bearer rmr_...)"));
    }
    if (!Tokens.wellFormed(t, TokenKind.RELAY)) {
      return Future.failedFuture(ControlException.unauthenticated(
          "this endpoint requires a relay token (rmr_...)"));
    }
    return s.relays().authenticate(Tokens.hash(t)).compose(p -> p != null
        ? Future.succeededFuture(p)
        : Future.failedFuture(ControlException.unauthenticated(
            "relay token is revoked or unknown (was its region deleted?)")));
  }

  /** Authenticates an agent by its agent token. */
  static Future<io.relaymesh.control.store.Model.AgentIdentity> agent(Services s, RoutingContext ctx) {
    String t = token(ctx);
    if (t == null) {
      return Future.failedFuture(ControlException.unauthenticated(
          "an agent token is required (Authorization: Bearer rma_...)"));
    }
    if (!Tokens.wellFormed(t, TokenKind.AGENT)) {
      return Future.failedFuture(ControlException.unauthenticated(
          "this endpoint requires an agent token (rma_...)"));
    }
    return s.workspaces().agentByToken(Tokens.hash(t)).compose(a -> a != null
        ? Future.succeededFuture(a)
        : Future.failedFuture(ControlException.unauthenticated(
            "agent token is revoked or unknown (was its workspace deleted?)")));
  }
}
