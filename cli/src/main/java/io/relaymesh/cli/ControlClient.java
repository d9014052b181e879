package io.relaymesh.cli;

import io.relaymesh.proxy.dial.ProxySettings;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A small blocking client of the control-plane API; errors become one-line CLI errors. */
public final class ControlClient {

  private final String base;
  private final String token;
  /** Built on the first request: a JDK HttpClient sets up TLS (the default SSLContext) at once. */
  private HttpClient http;

  public ControlClient(String url, String token) {
    String u = url.strip();
    if (!u.startsWith("http://") && !u.startsWith("https://")) {
      throw new CliException("control-plane URL must start with http:// or https://, got '" + u + "'");
    }
    this.base = u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    this.token = token;
  }

  private synchronized HttpClient http() {
    if (http == null) {
      HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
      URI uri = URI.create(base);
      ProxySettings proxy = proxyFromEnvironment();
      if (proxy != null && "https".equals(uri.getScheme())
          && proxy.useProxyFor(uri.getHost(), uri.getPort() < 0 ? 443 : uri.getPort())) {
        // HTTPS_PROXY / NO_PROXY, the same rules as the tunnel dialer (HTTP CONNECT)
        b.proxy(ProxySelector.of(new InetSocketAddress(proxy.host(), proxy.port())));
      }
      http = b.build();
    }
    return http;
  }

  private static ProxySettings proxyFromEnvironment() {
    try {
      return ProxySettings.fromEnvironment();
    } catch (IllegalArgumentException e) {
      throw new CliException(e.getMessage());
    }
  }

  public String base() {
    return base;
  }

  public static String seg(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  public JsonObject get(String path) {
    return call("GET", path, null);
  }

  public JsonObject post(String path, JsonObject body) {
    return call("POST", path, body == null ? new JsonObject() : body);
  }

  public JsonObject delete(String path) {
    return call("DELETE", path, null);
  }

  /** How long a request waits for the control plane's answer, unless the caller says. */
  public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  /** Sends a request; returns the JSON body ({@code null} for 204) or throws a CliException. */
  public JsonObject call(String method, String path, JsonObject body) {
    return call(method, path, body, ANSWER_TIMEOUT);
  }

  /**
   * As {@link #call(String, String, JsonObject)}, waiting at most {@code timeout} for the answer
   * (a timeout is "control plane unavailable").
   */
  public JsonObject call(String method, String path, JsonObject body, Duration timeout) {
    HttpRequest.Builder b;
    try {
      b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout);
    } catch (IllegalArgumentException e) {
      throw new CliException("invalid control-plane URL '" + base + "'");
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body.encode()));
    HttpResponse<String> r;
    try {
      r = http().send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      throw CliException.controlPlaneUnavailable("cannot reach the control plane at " + base
          + ": connect timed out", e);
    } catch (java.net.http.HttpTimeoutException e) {
      throw CliException.controlPlaneUnavailable("cannot reach the control plane at " + base
          + ": no answer within " + timeout.toSeconds() + " s", e);
    } catch (IOException e) {
      String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
      if (e instanceof java.net.ConnectException) {
        why = "connection refused";
      }
      throw CliException.controlPlaneUnavailable("cannot reach the control plane at " + base + ": "
          + why, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
    JsonObject json = null;
    if (r.body() != null && !r.body().isEmpty()) {
      try {
        json = new JsonObject(r.body());
      } catch (DecodeException e) {
        String msg = base + " answered " + r.statusCode()
            + " with a non-JSON body; is it a relaymesh control plane?";
        throw r.statusCode() >= 500 ? CliException.controlPlaneUnavailable(msg, null)
            : new CliException(msg);
      }
    }
    if (r.statusCode() >= 400) {
      String msg = json != null && json.getString("message") != null ? json.getString("message")
          : "HTTP " + r.statusCode();
      if (r.statusCode() == 401 && token != null) {
        msg += " (run 'relaymesh login' again)";
      }
      throw r.statusCode() >= 500 ? CliException.controlPlaneUnavailable(msg, null)
          : new CliException(msg);
    }
    return json;
  }
}
