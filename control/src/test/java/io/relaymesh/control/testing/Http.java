package io.relaymesh.control.testing;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A tiny blocking JSON client for tests (runs on the test thread, not on an event loop). */
public final class Http {

  /** A response: status and body (parsed JSON when there is one). */
  public record Resp(int status, String text) {
    public JsonObject json() {
      return text == null || text.isEmpty() ? null : new JsonObject(text);
    }

    public String code() {
      JsonObject j = json();
      return j == null ? null : j.getString("code");
    }

    @Override
    public String toString() {
      return status + " " + text;
    }
  }

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;

  public Http(String base) {
    this.base = base;
  }

  public Resp call(String method, String path, String token, Object body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(Duration.ofSeconds(20));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    String text = body == null ? null : body instanceof JsonObject o ? o.encode() : body.toString();
    if (text != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, text == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(text));
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Resp(r.statusCode(), r.body());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(method + " " + path + " failed: " + e, e);
    }
  }

  public Resp get(String path, String token) {
    return call("GET", path, token, null);
  }

  public Resp post(String path, String token, Object body) {
    return call("POST", path, token, body == null ? new JsonObject() : body);
  }

  public Resp delete(String path, String token) {
    return call("DELETE", path, token, null);
  }
}
