package io.relaymesh.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the multi-relay end-to-end tests ask the control plane, as the user the CLI children are
 * logged in as ({@code <configDir>/credentials.json}).
 */
record ControlApi(String controlUrl, Path configDir) {

  /** {@code GET path}, asserted 200. */
  JsonObject get(String path) {
    try {
      String token = new JsonObject(Files.readString(configDir.resolve("credentials.json")))
          .getString("token");
      HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(controlUrl + path)).header("Authorization", "Bearer " + token)
          .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(resp.statusCode()).as("GET %s: %s", path, resp.body()).isEqualTo(200);
      return new JsonObject(resp.body());
    } catch (IOException e) {
      throw new AssertionError("GET " + path + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Regions with at least one healthy replica. */
  Set<String> healthyRegions() {
    Set<String> out = new TreeSet<>();
    get("/api/v1/relays").getJsonArray("regions").forEach(o -> {
      JsonObject g = (JsonObject) o;
      g.getJsonArray("replicas", new JsonArray()).forEach(rep -> {
        if (((JsonObject) rep).getBoolean("healthy", false)) {
          out.add(g.getString("region"));
        }
      });
    });
    return out;
  }

  /** Regions of the relays holding the first workspace's first agent's tunnels. */
  Set<String> agentRegions() {
    Set<String> out = new TreeSet<>();
    JsonArray ws = get("/api/v1/workspaces").getJsonArray("workspaces");
    if (ws.isEmpty()) {
      return out;
    }
    ws.getJsonObject(0).getJsonArray("agents").getJsonObject(0)
        .getJsonArray("relays", new JsonArray())
        .forEach(o -> out.add(((JsonObject) o).getString("region")));
    return out;
  }
}
