package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.apps.AppAccess;
import io.relaymesh.control.apps.AppAccess.ResolvedApp;
import io.relaymesh.control.apps.AppHost;
import io.relaymesh.control.apps.AppTokens;
import io.relaymesh.control.apps.ShareLevel;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.HandoffStore.ActiveSession;
import io.relaymesh.control.tickets.TicketException;
import io.relaymesh.control.tickets.TicketVerifier;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * Workspace apps (docs/apps.md): the user's share API (session token), the admin's settings,
 * and the relay's app API (relay token): resolve an app name, and turn a session token, a
 * handoff code or an expired app token into a fresh app token after checking the session and
 * the share.
 */
final class AppsApi {

  static final String SHARE_PATH = "/api/v1/workspaces/:owner/:name/agents/:agent/ports/:port/share";

  private final Services s;

  AppsApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    handle(r.put(SHARE_PATH), this::share);
    handle(r.delete(SHARE_PATH), ctx -> Api.user(s, ctx)
        .compose(p -> s.apps().unshare(p, ctx.pathParam("owner"), ctx.pathParam("name"),
            ctx.pathParam("agent"), port(ctx)))
        .map(x -> Reply.noContent()));
    handle(r.get("/api/v1/shares"), ctx -> Api.user(s, ctx)
        .compose(p -> s.apps().shares(p))
        .compose(list -> s.apps().appsHosts().map(hosts -> {
          JsonArray a = new JsonArray();
          list.forEach(x -> a.add(x.toJson(hosts)));
          return Reply.ok(new JsonObject().put("shares", a));
        })));
    handle(r.get("/api/v1/settings"), ctx -> Api.user(s, ctx)
        .compose(p -> s.settings().maxShareLevel())
        .map(max -> Reply.ok(new JsonObject().put("maxShareLevel", max.wireName()))));
    handle(r.put("/api/v1/settings"), ctx -> Api.admin(s, ctx).compose(p -> {
      ShareLevel max = level(Api.string(Api.body(ctx), "maxShareLevel", true));
      return s.settings().setMaxShareLevel(max)
          .map(n -> Reply.ok(new JsonObject().put("maxShareLevel", max.wireName())
              .put("sharesLowered", n)));
    }));

    handle(r.post("/api/v1/relay/apps/resolve"), this::resolve);
    handle(r.post("/api/v1/relay/apps/authorize"), this::authorize);
    handle(r.post("/api/v1/relay/apps/handoff"), this::handoff);
    handle(r.post("/api/v1/relay/apps/refresh"), this::refresh);
  }

  private Future<Reply> share(RoutingContext ctx) {
    return Api.user(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      ShareLevel level = level(Api.string(b, "level", true));
      Object https = b.getValue("https", false);
      if (!(https instanceof Boolean h)) {
        throw ControlException.badRequest("field 'https' must be true or false");
      }
      return s.apps().share(p, ctx.pathParam("owner"), ctx.pathParam("name"),
              ctx.pathParam("agent"), port(ctx), h, level)
          .compose(share -> s.apps().appsHosts().map(hosts -> Reply.ok(share.toJson(hosts))));
    });
  }

  private Future<Reply> resolve(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      AppHost host = app(Api.body(ctx));
      return s.apps().resolve(host).map(app -> Reply.ok(new JsonObject()
          .put("app", host.label()).put("owner", host.owner()).put("ownerId", app.ownerId())
          .put("workspace", host.workspace()).put("workspaceId", app.workspaceId())
          .put("fullName", host.workspaceFullName())
          .put("agent", host.agent()).put("agentId", app.agentId())
          .put("port", host.port()).put("https", host.https())
          .put("level", app.level().wireName())
          .put("authUrl", s.accessUrl() + "/apps/auth")));
    });
  }

  private Future<Reply> authorize(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      AppHost host = app(b);
      String token = Api.string(b, "sessionToken", true);
      if (!Tokens.wellFormed(token, TokenKind.SESSION)) {
        throw sessionInvalid("sessionToken is not a session token (rms_...)");
      }
      return s.handoffs().session(Tokens.hash(token)).compose(session -> {
        if (session == null) {
          throw sessionInvalid("session token is expired, revoked or unknown; log in again");
        }
        return grant(host, session);
      });
    });
  }

  private Future<Reply> handoff(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      AppHost host = app(b);
      String code = Api.string(b, "code", true);
      return s.handoffs().consume(code, host.label()).compose(h -> {
        if (h == null) {
          throw new ControlException(401, "handoff_invalid", "handoff code for app "
              + host.label() + " is unknown, used, expired or for another app; open the app"
              + " again");
        }
        return s.handoffs().session(h.sessionId());
      }).compose(session -> {
        if (session == null) {
          throw new ControlException(401, "handoff_invalid", "the login session of this"
              + " handoff code for app " + host.label() + " has ended; log in again");
        }
        return grant(host, session);
      });
    });
  }

  private Future<Reply> refresh(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      AppHost host = app(b);
      String token = Api.string(b, "appToken", true);
      return s.keys().published().compose(keys -> {
        AppTokens.Claims claims;
        try {
          claims = AppTokens.verify(new TicketVerifier(() -> keys, null), token, host.label());
        } catch (TicketException e) {
          throw new ControlException(401, "app_token_invalid", e.getMessage());
        }
        return s.handoffs().session(claims.sessionId()).compose(session -> {
          if (session == null || session.userId() != claims.userId()) {
            throw sessionInvalid("the login session of this app token has ended (expired or"
                + " revoked); log in again");
          }
          return grant(host, session);
        });
      });
    });
  }

  /** Resolves the app, decides for the session's user, and issues an app token. */
  private Future<Reply> grant(AppHost host, ActiveSession session) {
    return s.apps().resolve(host).compose(app -> {
      AppAccess.Decision d = AppAccess.decide(app, session.userId(), session.username());
      if (!d.allowed()) {
        throw new ControlException(403, "app_forbidden", d.reason());
      }
      return issue(app, session);
    });
  }

  private Future<Reply> issue(ResolvedApp app, ActiveSession session) {
    return s.keys().current().map(key -> {
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      Instant exp = now.plus(s.config().appTokenTtl());
      if (exp.isAfter(session.expiresAt())) {
        exp = session.expiresAt().truncatedTo(ChronoUnit.SECONDS);
      }
      AppTokens.Claims claims = new AppTokens.Claims(UUID.randomUUID().toString(),
          s.accessUrl(), session.username(), session.userId(), session.sessionId(),
          app.host().label(), now, exp);
      String token = AppTokens.sign(key, claims);
      s.metrics().ticketIssued(ControlMetrics.APP_TOKEN);
      return Reply.ok(new JsonObject().put("appToken", token)
          .put("expiresAt", exp.toString())
          .put("refreshUntil", session.expiresAt().toString())
          .put("username", session.username()));
    });
  }

  private static ControlException sessionInvalid(String message) {
    return new ControlException(401, "session_invalid", message);
  }

  private static AppHost app(JsonObject b) {
    String label = Api.string(b, "app", true);
    try {
      return AppHost.parseLabel(label);
    } catch (IllegalArgumentException e) {
      throw new ControlException(400, "bad_app_name", e.getMessage());
    }
  }

  private static ShareLevel level(String s) {
    try {
      return ShareLevel.parse(s);
    } catch (IllegalArgumentException e) {
      throw ControlException.badRequest(e.getMessage());
    }
  }

  private static int port(RoutingContext ctx) {
    String p = ctx.pathParam("port");
    if (p == null || !p.matches("[0-9]{1,5}")) {
      throw ControlException.badRequest("port '" + Api.abbreviate(String.valueOf(p))
          + "' is not a number between 1 and 65535");
    }
    return Integer.parseInt(p);
  }
}
