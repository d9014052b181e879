package io.relaymesh.cli.e2e;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The "workspace apps" of the browser tests, on 127.0.0.1 (the dev agent dials loopback):
 * a recording app that answers with the request it saw (and keeps every request's headers), and
 * a WebSocket echo app with a page whose script talks to it through the relay.
 */
final class WorkspaceApps implements AutoCloseable {

  /** One request as the app saw it. */
  record Seen(String method, String uri, Map<String, String> headers) {}

  final Vertx vertx = Vertx.vertx();
  final CopyOnWriteArrayList<Seen> seen = new CopyOnWriteArrayList<>();
  final HttpServer recording;
  final HttpServer websocket;

  WorkspaceApps() throws Exception {
    recording = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1"))
        .requestHandler(req -> {
          Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
          req.headers().forEach(e -> h.merge(e.getKey(), e.getValue(), (a, b) -> a + ", " + b));
          seen.add(new Seen(req.method().name(), req.uri(), h));
          StringBuilder b = new StringBuilder("<!doctype html><title>recording app</title>"
              + "<h1 id=marker>recording app</h1><pre id=seen>");
          b.append(req.method()).append(' ').append(esc(req.uri())).append('\n');
          h.forEach((k, v) -> b.append(esc(k)).append(": ").append(esc(v)).append('\n'));
          b.append("</pre>");
          req.response().putHeader("Content-Type", "text/html; charset=utf-8").end(b.toString());
        }).listen(0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    websocket = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1"))
        .webSocketHandler(ws -> ws.textMessageHandler(m -> ws.writeTextMessage("echo: " + m)))
        .requestHandler(req -> {
          if (req.path().equals("/app.js")) {
            req.response().putHeader("Content-Type", "text/javascript").end(String.join("\n",
                "const out = document.getElementById('out');",
                "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://')"
                    + " + location.host + '/ws');",
                "ws.onopen = () => ws.send('ping-' + location.hash.substring(1));",
                "ws.onmessage = (e) => { out.textContent = e.data; };",
                "ws.onerror = () => { out.textContent = 'websocket error'; };",
                "ws.onclose = (e) => { if (!out.textContent) out.textContent = 'closed ' + e.code; };"));
          } else {
            req.response().putHeader("Content-Type", "text/html; charset=utf-8").end(
                "<!doctype html><title>ws app</title><h1>ws app</h1><p id=out></p>"
                    + "<script src=/app.js></script>");
          }
        }).listen(0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  int recordingPort() {
    return recording.actualPort();
  }

  int webSocketPort() {
    return websocket.actualPort();
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
