package io.relaymesh.proxy.dial;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Measures the round-trip time to relay replicas, for {@link RelayChooser}: per replica, one
 * {@code GET <publicUrl>/latency-check} opens the connection (TCP, TLS; not counted), then
 * {@link #samples} more exchanges run one after another over that warm connection and the
 * smallest is the result: the network round trip is a lower bound, and what a sample takes above
 * it is waiting (the other replicas' handshakes on the same event loop, a busy machine), which a
 * freshly started CLI has plenty of — a median let one cold run rank a 10 ms relay behind a
 * 30 ms one. All replicas are measured in parallel; each has {@link #timeout} in all,
 * after which (or on any connection error or an HTTP status of 400 or more) it counts as
 * unreachable, with the reason.
 *
 * <p>TLS trust and the HTTP CONNECT proxy are those of the tunnel dialer ({@link DialOptions}:
 * {@link TrustSpec}, {@link ProxySettings}), so a replica that can be measured can be dialed. A
 * {@code wss://} URL is measured as {@code https://}; plain {@code http://} is measured as is.
 *
 * <p>The probe only needs reachable {@code /latency-check} endpoints, so it can be driven against
 * real relays behind real network delays (netem) as well as on loopback.
 *
 * <p>Thread-safe: {@link #measure} may be called from any thread; each call uses its own HTTP
 * client, closed when the call completes.
 */
public final class LatencyProbe {

  public static final String PATH = "/latency-check";
  public static final int DEFAULT_SAMPLES = 3;
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);

  private final Vertx vertx;
  private final DialOptions options;
  private final int samples;
  private final Duration timeout;

  /**
   * @param options trust and proxy as for tunnels (timeouts of the dial options are not used)
   * @param samples timed exchanges per replica after the warm-up one (at least 1)
   * @param timeout time per replica for the warm-up and all samples together
   */
  public LatencyProbe(Vertx vertx, DialOptions options, int samples, Duration timeout) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.options = Objects.requireNonNull(options, "options");
    if (samples < 1 || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("at least one sample and a positive timeout");
    }
    this.samples = samples;
    this.timeout = timeout;
  }

  public LatencyProbe(Vertx vertx, DialOptions options) {
    this(vertx, options, DEFAULT_SAMPLES, DEFAULT_TIMEOUT);
  }

  public int samples() {
    return samples;
  }

  public Duration timeout() {
    return timeout;
  }

  /** Measures every candidate (in parallel); the answer is in the candidates' order. Never fails. */
  public Future<List<RelayRtt>> measure(List<RelayCandidate> candidates) {
    if (candidates.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    HttpClient http = vertx.createHttpClient(clientOptions(), new PoolOptions().setHttp1MaxSize(1));
    List<Future<RelayRtt>> all = new ArrayList<>();
    for (RelayCandidate c : candidates) {
      all.add(measureOne(http, c));
    }
    return Future.join(all).map(x -> {
      List<RelayRtt> out = new ArrayList<>();
      all.forEach(f -> out.add(f.result()));
      http.close(); // not waited for: the answer is complete, whatever the closing takes
      return out;
    });
  }

  private HttpClientOptions clientOptions() {
    int connectMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    HttpClientOptions o = new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setConnectTimeout(connectMillis).setSslHandshakeTimeout(timeout.toMillis())
        .setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
    // exactly as the tunnel dialer trusts
    return o.setTrustOptions(options.trust().trustOptions())
        .setVerifyHost(options.trust().verifyHost());
  }

  private Future<RelayRtt> measureOne(HttpClient http, RelayCandidate c) {
    URI uri;
    try {
      uri = target(c.publicUrl());
    } catch (IllegalArgumentException e) {
      return Future.succeededFuture(RelayRtt.unreachable(c, "relay " + c + ": " + e.getMessage()));
    }
    boolean tls = uri.getScheme().equals("https");
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    RequestOptions req = new RequestOptions().setMethod(HttpMethod.GET).setHost(uri.getHost().replaceAll("^\\[|]$", ""))
        .setPort(port).setSsl(tls).setURI(PATH).setTimeout(timeout.toMillis())
        .putHeader("Cache-Control", "no-store");
    ProxySettings proxy = options.proxy();
    if (tls && proxy != null && proxy.useProxyFor(req.getHost(), port)) {
      req.setProxyOptions(proxy.toProxyOptions());
    }
    Promise<RelayRtt> result = Promise.promise();
    long deadline = vertx.setTimer(timeout.toMillis(), t -> result.tryComplete(RelayRtt.unreachable(c,
        "relay " + c.publicUrl() + PATH + " did not answer " + (samples + 1) + " requests within "
            + timeout.toMillis() + " ms")));
    long[] nanos = new long[samples];
    exchange(http, req).compose(warm -> sample(http, req, nanos, 0)).onComplete(ar -> {
      vertx.cancelTimer(deadline);
      if (ar.succeeded()) {
        result.tryComplete(RelayRtt.of(c, Arrays.stream(nanos).min().orElseThrow() / 1_000_000.0));
      } else {
        Throwable e = ar.cause();
        result.tryComplete(RelayRtt.unreachable(c, "relay " + c.publicUrl() + PATH + ": "
            + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName())));
      }
    });
    return result.future();
  }

  private Future<Void> sample(HttpClient http, RequestOptions req, long[] nanos, int i) {
    if (i == nanos.length) {
      return Future.succeededFuture();
    }
    long t0 = System.nanoTime();
    return exchange(http, req).compose(v -> {
      nanos[i] = System.nanoTime() - t0;
      return sample(http, req, nanos, i + 1);
    });
  }

  private static Future<Void> exchange(HttpClient http, RequestOptions req) {
    return http.request(req).compose(r -> r.send()).compose(resp -> resp.body().compose(body -> {
      if (resp.statusCode() >= 400) {
        return Future.failedFuture("answered HTTP " + resp.statusCode() + " (not a relay's latency check?)");
      }
      return Future.succeededFuture();
    }));
  }

  static URI target(String publicUrl) {
    URI u;
    try {
      u = new URI(publicUrl.trim());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("not a URL (" + e.getReason() + ")");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    scheme = switch (scheme) {
      case "wss", "https" -> "https";
      case "ws", "http" -> "http";
      default -> throw new IllegalArgumentException("cannot measure a '" + scheme + "://' URL");
    };
    if (u.getHost() == null) {
      throw new IllegalArgumentException("no host in the URL");
    }
    return URI.create(scheme + "://" + u.getRawAuthority());
  }
}
