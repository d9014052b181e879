package io.relaymesh.bench;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The control plane's JSON API as the benchmark tools call it (set-up only, never measured). */
public final class ControlHttp {
  private ControlHttp() {}

  /**
   * POSTs {@code body} to {@code controlUrl + path} (with {@code Authorization: Bearer session}
   * when a session is given); fails unless the answer has status {@code expect}.
   */
  public static JsonObject post(HttpClient http, String controlUrl, String session, String path,
      JsonObject body, int expect) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(controlUrl + path))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.encode()));
    if (session != null) {
      b.header("Authorization", "Bearer " + session);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != expect) {
      throw new IllegalStateException("POST " + path + ": HTTP " + r.statusCode() + " " + r.body());
    }
    return new JsonObject(r.body());
  }
}
