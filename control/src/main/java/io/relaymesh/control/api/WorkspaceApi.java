package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.Model.Workspace;
import io.relaymesh.control.store.WorkspaceStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** Workspaces and their agents. Only a workspace's owner reaches it; to others it does not exist. */
final class WorkspaceApi {

  static final String DEFAULT_AGENT = "main";

  private final Services s;

  WorkspaceApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    handle(r.get("/api/v1/workspaces"), ctx -> Api.user(s, ctx)
        .compose(p -> s.workspaces().listByOwner(p.userId()))
        .map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(w -> a.add(w.toJson()));
          return Reply.ok(new JsonObject().put("workspaces", a));
        }));
    handle(r.post("/api/v1/workspaces"), this::create);
    handle(r.get("/api/v1/workspaces/:owner/:name"), ctx -> Api.user(s, ctx)
        .compose(p -> owned(p, ctx))
        .map(w -> Reply.ok(w.toJson())));
    handle(r.delete("/api/v1/workspaces/:owner/:name"), ctx -> Api.user(s, ctx)
        .compose(p -> owned(p, ctx))
        .compose(w -> s.workspaces().delete(w.id()))
        .map(x -> Reply.noContent()));
    handle(r.post("/api/v1/workspaces/:owner/:name/agents"), this::addAgent);
  }

  private Future<Reply> create(RoutingContext ctx) {
    return Api.user(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String name = Api.name(b, "name", "workspace", true);
      String agent = Api.name(b, "agent", "agent", false);
      String agentName = agent == null ? DEFAULT_AGENT : agent;
      String token = Tokens.generate(TokenKind.AGENT);
      return s.workspaces().create(p.userId(), name, agentName, Tokens.hash(token))
          .recover(e -> Future.failedFuture(e instanceof ControlException ce
              && ce.code().equals("workspace_exists")
              ? ControlException.conflict("workspace_exists",
                  "workspace '" + p.username() + "/" + name + "' already exists") : e))
          .map(w -> Reply.created(new JsonObject().put("workspace", w.toJson())
              .put("agent", agentName).put("agentToken", token)
              .put("agentCommand", agentCommand(token))));
    });
  }

  private Future<Reply> addAgent(RoutingContext ctx) {
    return Api.user(s, ctx).compose(p -> owned(p, ctx).compose(w -> {
      JsonObject b = Api.body(ctx);
      String agentName = Api.name(b, "name", "agent", true);
      String token = Tokens.generate(TokenKind.AGENT);
      return s.workspaces().addAgent(w, agentName, Tokens.hash(token))
          .map(x -> Reply.created(new JsonObject().put("workspace", w.fullName())
              .put("agent", agentName).put("agentToken", token)
              .put("agentCommand", agentCommand(token))));
    }));
  }

  private String agentCommand(String token) {
    return "relaymesh agent --url " + s.accessUrl() + " --token " + token;
  }

  /** The workspace in the path when {@code p} owns it; 404 otherwise (no existence leak). */
  Future<Workspace> owned(Principal.User p, RoutingContext ctx) {
    return owned(s, p, ctx.pathParam("owner"), ctx.pathParam("name"));
  }

  static Future<Workspace> owned(Services s, Principal.User p, String owner, String name) {
    if (!owner.equals(p.username())) {
      return Future.failedFuture(WorkspaceStore.notFound(owner, name));
    }
    return s.workspaces().find(owner, name).compose(w -> w != null
        ? Future.succeededFuture(w)
        : Future.failedFuture(WorkspaceStore.notFound(owner, name)));
  }
}
