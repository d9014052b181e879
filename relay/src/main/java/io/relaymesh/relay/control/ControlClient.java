package io.relaymesh.relay.control;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The relay's client of the control plane's {@code /api/v1/relay/...} endpoints, authenticated
 * with the region's relay token. Every call has a timeout; {@link #withRetry} retries what is
 * worth retrying with jittered exponential backoff. Tokens (the relay's and agents') never appear
 * in messages or logs.
 *
 * <p>Threading: thread-safe (Vert.x {@link HttpClient}); futures complete on the caller's context
 * when called from one.
 */
public final class ControlClient implements AutoCloseable {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

  private final Vertx vertx;
  private final String base;
  private final String relayToken;
  private final long timeoutMs;
  private final HttpClient http;

  public ControlClient(Vertx vertx, String controlUrl, String relayToken, Duration timeout) {
    this.vertx = vertx;
    this.base = controlUrl.endsWith("/") ? controlUrl.substring(0, controlUrl.length() - 1) : controlUrl;
    this.relayToken = relayToken;
    this.timeoutMs = timeout.toMillis();
    this.http = vertx.createHttpClient(new HttpClientOptions()
        // no keep-alive: control-plane calls are rare, and a reused connection once left a
        // request hanging without any timeout firing (AgentAuthCacheTest, full-suite runs)
        .setConnectTimeout((int) timeoutMs).setKeepAlive(false).setTcpNoDelay(true));
  }

  /** The Vert.x instance calls and retry timers run on. */
  public Vertx vertx() {
    return vertx;
  }

  /** The control plane's base URL. */
  public String baseUrl() {
    return base;
  }

  /**
   * {@code POST /relay/register}: where peers reach this replica ({@code peerAddress}, null: its
   * public URL), its TLS certificate's SHA-256 fingerprint (or null), and this relay process
   * ({@code instanceId}, a UUID per start, or null): a registration of the replica by another
   * instance tells the control plane that the process before is gone, and it ends that
   * process's open connection records as relay-lost.
   */
  public Future<JsonObject> register(String replicaId, String publicUrl, String appsHost,
      String peerAddress, String version, String tlsFingerprint, String instanceId) {
    JsonObject body = new JsonObject().put("replicaId", replicaId).put("publicUrl", publicUrl);
    if (instanceId != null) {
      body.put("instanceId", instanceId);
    }
    if (appsHost != null) {
      body.put("appsHost", appsHost);
    }
    if (peerAddress != null && !peerAddress.isBlank()) {
      body.put("peerAddress", peerAddress);
    }
    if (tlsFingerprint != null) {
      body.put("tlsFingerprint", tlsFingerprint);
    }
    if (version != null) {
      body.put("version", version);
    }
    return call(HttpMethod.POST, "/api/v1/relay/register", body, 200);
  }

  /** {@code POST /relay/heartbeat}; fails with code {@code replica_not_registered} when forgotten. */
  public Future<Void> heartbeat(String replicaId) {
    return call(HttpMethod.POST, "/api/v1/relay/heartbeat",
        new JsonObject().put("replicaId", replicaId), 204).mapEmpty();
  }

  /** {@code POST /relay/deregister}: forgets this replica and its presence (graceful drain). */
  public Future<Void> deregister(String replicaId) {
    return call(HttpMethod.POST, "/api/v1/relay/deregister",
        new JsonObject().put("replicaId", replicaId), 204).mapEmpty();
  }

  /**
   * {@code POST /relay/peer-ticket}: {@code {ticket, expiresAt}} for opening a peer session from
   * this replica to {@code targetReplicaId} of {@code targetRegion}.
   */
  public Future<JsonObject> peerTicket(String replicaId, String targetRegion,
      String targetReplicaId) {
    return call(HttpMethod.POST, "/api/v1/relay/peer-ticket", new JsonObject()
        .put("replicaId", replicaId).put("targetRegion", targetRegion)
        .put("targetReplicaId", targetReplicaId), 200);
  }

  /** {@code GET /relay/agents/:agentId/replicas}: the healthy replicas holding the agent. */
  public Future<io.vertx.core.json.JsonArray> replicasHolding(long agentId) {
    return call(HttpMethod.GET, "/api/v1/relay/agents/" + agentId + "/replicas", null, 200)
        .map(j -> j.getJsonArray("replicas", new io.vertx.core.json.JsonArray()));
  }

  /**
   * {@code POST /relay/agent-auth}: who {@code agentToken} belongs to; fails with status 403 /
   * {@code agent_token_invalid} for a revoked or unknown token.
   */
  public Future<AgentIdentity> agentAuth(String agentToken) {
    return call(HttpMethod.POST, "/api/v1/relay/agent-auth",
        new JsonObject().put("token", agentToken), 200).map(AgentIdentity::fromJson);
  }

  /** {@code POST /relay/presence}. */
  public Future<Void> presence(String replicaId, long agentId, boolean connected) {
    return call(HttpMethod.POST, "/api/v1/relay/presence", new JsonObject()
        .put("replicaId", replicaId).put("agentId", agentId).put("connected", connected), 204)
        .mapEmpty();
  }

  /** {@code POST /relay/connections}; completes with the record id. */
  public Future<Long> recordConnection(JsonObject record) {
    return call(HttpMethod.POST, "/api/v1/relay/connections", record, 201)
        .map(j -> j.getLong("id"));
  }

  /**
   * {@code POST /relay/apps/resolve}: the app behind label {@code app} ({@code 8080--main--dev--alice});
   * fails with 404 {@code app_not_found}, 403 {@code port_not_allowed}, 400 {@code bad_app_name}.
   */
  public Future<JsonObject> appResolve(String app) {
    return call(HttpMethod.POST, "/api/v1/relay/apps/resolve", new JsonObject().put("app", app),
        200);
  }

  /**
   * {@code POST /relay/apps/authorize}: exchanges a user's session token for an app token of
   * {@code app}; fails with 401 {@code session_invalid} or 403 {@code app_forbidden}.
   */
  public Future<JsonObject> appAuthorize(String app, String sessionToken) {
    return call(HttpMethod.POST, "/api/v1/relay/apps/authorize", new JsonObject().put("app", app)
        .put("sessionToken", sessionToken), 200);
  }

  /**
   * {@code POST /relay/apps/handoff}: exchanges a one-time handoff code of the browser flow for an
   * app token; fails with 401 {@code handoff_invalid} or 403 {@code app_forbidden}.
   */
  public Future<JsonObject> appHandoff(String app, String code) {
    return call(HttpMethod.POST, "/api/v1/relay/apps/handoff", new JsonObject().put("app", app)
        .put("code", code), 200);
  }

  /**
   * {@code POST /relay/apps/refresh}: exchanges an expired (genuine) app token for a new one;
   * fails with 401 {@code session_invalid} / {@code app_token_invalid} or 403
   * {@code app_forbidden}.
   */
  public Future<JsonObject> appRefresh(String app, String appToken) {
    return call(HttpMethod.POST, "/api/v1/relay/apps/refresh", new JsonObject().put("app", app)
        .put("appToken", appToken), 200);
  }

  /**
   * Calls {@code path} and completes with the JSON body when the status is {@code expected};
   * fails with a {@link ControlException} otherwise.
   */
  public Future<JsonObject> call(HttpMethod method, String path, JsonObject body, int expected) {
    Observer o = observer;
    if (o == null) {
      return doCall(method, path, body, expected);
    }
    long start = System.nanoTime();
    String call = callName(path);
    return doCall(method, path, body, expected).andThen(ar -> o.call(call,
        System.nanoTime() - start, ar.succeeded() ? null : errorReason(ar.cause())));
  }

  /** Sees every control-plane call (metrics). */
  @FunctionalInterface
  public interface Observer {
    /**
     * @param call the {@code call} label ({@link #callName})
     * @param errorReason null when it succeeded, else {@code unreachable}, {@code timeout},
     *     {@code status-4xx}, {@code status-5xx} or {@code bad-answer}
     */
    void call(String call, long nanos, String errorReason);
  }

  private volatile Observer observer;

  /** Sets who sees every call (null: nobody). */
  public ControlClient observer(Observer o) {
    observer = o;
    return this;
  }

  /** The bounded {@code call} label of a control-plane path. */
  static String callName(String path) {
    String p = path.startsWith("/api/v1/relay/") ? path.substring("/api/v1/relay/".length())
        : path;
    if (p.startsWith("agents/")) {
      return "replicas";
    }
    return switch (p) {
      case "register", "heartbeat", "deregister", "peer-ticket", "agent-auth", "presence",
          "connections" -> p;
      case "apps/resolve" -> "apps-resolve";
      case "apps/authorize" -> "apps-authorize";
      case "apps/handoff" -> "apps-handoff";
      case "apps/refresh" -> "apps-refresh";
      default -> "other";
    };
  }

  static String errorReason(Throwable e) {
    if (e instanceof ControlException ce && ce.status() > 0) {
      if (ce.status() >= 500) {
        return "status-5xx";
      }
      return ce.status() >= 400 ? "status-4xx" : "bad-answer";
    }
    String m = e == null ? null : e.getMessage();
    if (m != null && (m.contains("no answer within") || m.toLowerCase(java.util.Locale.ROOT)
        .contains("timeout") || m.toLowerCase(java.util.Locale.ROOT).contains("timed out"))) {
      return "timeout";
    }
    return "unreachable";
  }

  private Future<JsonObject> doCall(HttpMethod method, String path, JsonObject body,
      int expected) {
    String what = method + " " + base + path;
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(base + path)
        .setTimeout(timeoutMs)
        .putHeader("Authorization", "Bearer " + relayToken)
        .putHeader("Accept", "application/json");
    Buffer payload = body == null ? null : body.toBuffer();
    if (payload != null) {
      options.putHeader("Content-Type", "application/json");
    }
    Future<io.vertx.core.http.HttpClientRequest> request;
    try {
      request = http.request(options);
    } catch (IllegalStateException e) { // closed client (relay shutting down, retry timer late)
      return Future.failedFuture(new ControlException(0, "unavailable", what + " failed: "
          + e.getMessage()));
    }
    Future<JsonObject> answer = request
        .compose(req -> payload == null ? req.send() : req.send(payload))
        .compose(resp -> resp.body().map(b -> {
          JsonObject json = parse(b);
          if (resp.statusCode() == expected) {
            return json == null ? new JsonObject() : json;
          }
          String code = json != null && json.getString("code") != null ? json.getString("code")
              : "http_" + resp.statusCode();
          String message = json != null && json.getString("message") != null
              ? json.getString("message") : "status " + resp.statusCode();
          throw new ControlException(resp.statusCode(), code,
              what + ": " + resp.statusCode() + " " + code + ": " + message);
        }), e -> Future.failedFuture(e instanceof ControlException ? e
            : new ControlException(0, "unavailable", what + " failed: " + e.getMessage())));
    // a hard deadline on top of the request's own timeouts: a call never hangs, whatever state
    // the connection pool is in (seen once: a request that got no connection and no timeout)
    Promise<JsonObject> result = Promise.promise();
    long deadline = vertx.setTimer(2 * timeoutMs + 1_000, t -> result.tryFail(
        new ControlException(0, "unavailable", what + " failed: no answer within "
            + (2 * timeoutMs + 1_000) + " ms")));
    answer.onComplete(ar -> {
      vertx.cancelTimer(deadline);
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  private static JsonObject parse(Buffer b) {
    if (b == null || b.length() == 0) {
      return null;
    }
    try {
      return new JsonObject(b);
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  /**
   * Runs {@code call} until it succeeds, fails with a non-retryable {@link ControlException}, or
   * {@code deadline} passes; waits about {@code initial * 2^n} (capped at {@code max}, jittered to
   * between half and all of it) between attempts.
   */
  public <T> Future<T> withRetry(Supplier<Future<T>> call, Duration initial, Duration max,
      Instant deadline) {
    Promise<T> result = Promise.promise();
    attempt(call, initial.toMillis(), max.toMillis(), deadline, 0, result);
    return result.future();
  }

  private <T> void attempt(Supplier<Future<T>> call, long baseMs, long maxMs, Instant deadline,
      int n, Promise<T> result) {
    call.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
        return;
      }
      Throwable e = ar.cause();
      boolean retry = !(e instanceof ControlException ce) || ce.retryable();
      long cap = Math.min(maxMs, baseMs << Math.min(n, 20));
      long delay = Math.max(1, ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
      if (!retry || Instant.now().plusMillis(delay).isAfter(deadline)) {
        result.fail(e);
        return;
      }
      vertx.setTimer(delay, t -> attempt(call, baseMs, maxMs, deadline, n + 1, result));
    });
  }

  /** A jittered delay in {@code [d/2, d]}. */
  public static long jitter(long millis) {
    return Math.max(1, ThreadLocalRandom.current().nextLong(millis / 2, millis + 1));
  }

  @Override
  public void close() {
    http.close();
  }
}
