package io.relaymesh.control.api;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;

/** The control plane's HTTP routes; see {@code docs/api.md}. */
public final class ApiRouter {

  /** Request bodies are small JSON documents. */
  public static final long BODY_LIMIT = 64 * 1024;

  private ApiRouter() {}

  public static Router create(Services s) {
    Router r = Router.router(s.vertx());
    r.route().handler(s.metrics().requestTimer());
    r.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    new HealthApi(s).mount(r);
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
