package io.relaymesh.agent.tunnel;

import io.relaymesh.proxy.dial.RelayCandidate;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * Finds the relays an agent may connect to, from the control plane: {@code GET
 * /api/v1/agent/relays} with the agent token; the healthy replicas (of the pinned region, if any),
 * in the control plane's order. Which of them the agent holds tunnels to is {@link RelayPicker}'s
 * choice.
 */
public final class RelayDiscovery {
  /**
   * How long a look-up waits for the control plane's answer (no bytes for this long fails it).
   * Without it, a control plane that accepts connections but never answers (a hung process,
   * SIGSTOP; a connection lost without a reset) held the agent's reconnects for as long as it
   * hung: the look-up is the first step of every attempt.
   */
  public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient http;
  private final String controlUrl;
  private final String token;
  private final String region;
  private final Duration answerTimeout;

  public RelayDiscovery(HttpClient http, String controlUrl, String token, String region) {
    this(http, controlUrl, token, region, ANSWER_TIMEOUT);
  }

  RelayDiscovery(HttpClient http, String controlUrl, String token, String region,
      Duration answerTimeout) {
    this.answerTimeout = answerTimeout;
    this.http = http;
    this.controlUrl = controlUrl.endsWith("/") ? controlUrl.substring(0, controlUrl.length() - 1) : controlUrl;
    this.token = token;
    this.region = region;
  }

  /** The healthy replicas (never empty), or a failure naming the control plane and why. */
  public Future<List<RelayCandidate>> findRelays() {
    String url = controlUrl + "/api/v1/agent/relays";
    return http.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
            .setTimeout(answerTimeout.toMillis())
            .putHeader("Authorization", "Bearer " + token).putHeader("Accept", "application/json"))
        .compose(req -> req.send())
        .compose(resp -> resp.body().map(body -> {
          if (resp.statusCode() != 200) {
            String detail = body.toString();
            try {
              JsonObject err = new JsonObject(body);
              detail = err.getString("code") + ": " + err.getString("message");
            } catch (RuntimeException notJson) {
              detail = detail.length() > 200 ? detail.substring(0, 200) : detail;
            }
            if (resp.statusCode() == 401 || resp.statusCode() == 403) {
              throw new TokenRejectedException("agent token rejected by the control plane " + url + " answered "
                  + resp.statusCode() + " " + detail);
            }
            throw new IllegalStateException("control plane " + url + " answered " + resp.statusCode() + " " + detail);
          }
          return pick(new JsonObject(body), region, url);
        }), e -> Future.failedFuture(e instanceof IllegalStateException ? e
            : new IllegalStateException("cannot reach the control plane " + url + ": " + e.getMessage(), e)));
  }

  static List<RelayCandidate> pick(JsonObject answer, String region, String url) {
    List<RelayCandidate> healthy = RelayCandidate.healthyOf(answer, region);
    if (healthy.isEmpty()) {
      throw new IllegalStateException("no healthy relay " + (region == null ? "" : "in region '" + region + "' ")
          + "is registered with the control plane (" + url + ")");
    }
    return healthy;
  }
}
