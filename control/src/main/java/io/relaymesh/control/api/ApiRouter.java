package io.relaymesh.control.api;

import io.relaymesh.control.ControlException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.sqlclient.Tuple;

/** The control plane's HTTP routes; see {@code docs/api.md}. */
public final class ApiRouter {

  /** Request bodies are small JSON documents. */
  public static final long BODY_LIMIT = 64 * 1024;

  private ApiRouter() {}

  public static Router create(Services s) {
    Router r = Router.router(s.vertx());
    r.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    r.get("/healthz").handler(ctx -> s.db().exec("SELECT 1", Tuple.tuple())
        .onSuccess(x -> Api.write(ctx, Api.Reply.ok(new JsonObject().put("status", "ok"))))
        .onFailure(e -> ctx.fail(new ControlException(503, "database_unavailable",
            "the database is not reachable"))));
    new AccountApi(s).mount(r);
    new WorkspaceApi(s).mount(r);
    new RelayApi(s).mount(r);
    new TicketApi(s).mount(r);
    new AppsApi(s).mount(r);
    new io.relaymesh.control.web.WebUi(s).mount(r);
    r.route().last().handler(ctx -> ctx.fail(404));
    r.route().failureHandler(Api::failure);
    return r;
  }
}
