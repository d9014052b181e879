package io.relaymesh.control.web;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A minimal browser for tests of the HTML pages: follows no redirects, keeps the cookies it is
 * given by hand (name -> value, no domain/path logic: one control plane per browser), sends
 * form posts with an {@code Origin} header like a browser does.
 */
final class Browser {

  /** A response: status, headers, body. */
  record Resp(int status, HttpHeaders headers, String body) {
    String header(String name) {
      return headers.firstValue(name).orElse(null);
    }

    List<String> setCookies() {
      return headers.allValues("Set-Cookie");
    }

    @Override
    public String toString() {
      return status + " " + headers.map() + "\n" + body;
    }
  }

  private final HttpClient client = HttpClient.newBuilder()
      .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
  final String base;
  final Map<String, String> cookies = new LinkedHashMap<>();

  Browser(String base) {
    this.base = base;
  }

  Resp get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  /** A form POST from a page of {@code origin} ({@code null}: no Origin header). */
  Resp post(String path, Map<String, String> form, String origin) {
    String body = form.entrySet().stream()
        .map(e -> Html.urlEncode(e.getKey()) + "=" + Html.urlEncode(e.getValue()))
        .collect(Collectors.joining("&"));
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (origin != null) {
      b.header("Origin", origin);
    }
    return send(b);
  }

  /** A same-origin form POST. */
  Resp post(String path, Map<String, String> form) {
    return post(path, form, base);
  }

  /** Signs in through the login form; asserts nothing, returns the response. */
  Resp login(String user, String password) {
    return post("/login", Map.of("username", user, "password", password, "next", "/"));
  }

  private Resp send(HttpRequest.Builder b) {
    b.timeout(Duration.ofSeconds(20)).header("Accept", "text/html");
    if (!cookies.isEmpty()) {
      b.header("Cookie", cookies.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
          .collect(Collectors.joining("; ")));
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      for (String c : r.headers().allValues("Set-Cookie")) {
        String pair = c.split(";", 2)[0];
        int eq = pair.indexOf('=');
        String name = pair.substring(0, eq).strip();
        String value = pair.substring(eq + 1).strip();
        boolean expired = value.isEmpty() || c.toLowerCase().contains("max-age=0");
        if (expired) {
          cookies.remove(name);
        } else {
          cookies.put(name, value);
        }
      }
      return new Resp(r.statusCode(), r.headers(), r.body());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException("request to " + b.build().uri() + " failed: " + e, e);
    }
  }
}
