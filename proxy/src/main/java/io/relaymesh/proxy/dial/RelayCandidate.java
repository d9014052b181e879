package io.relaymesh.proxy.dial;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A relay replica one may connect to: its region, replica id and public URL (as the control plane
 * lists it, {@code Replica} in {@code docs/api.md}).
 *
 * @param region the region; may be null for a relay given by URL only
 * @param replicaId the replica id; null for a relay given by URL only ({@link #key()} is then the URL)
 * @param publicUrl the relay's public base URL ({@code https://host:port})
 */
public record RelayCandidate(String region, String replicaId, String publicUrl) {

  public RelayCandidate {
    Objects.requireNonNull(publicUrl, "publicUrl");
  }

  /** What identifies the replica: its replica id, else its URL. */
  public String key() {
    return replicaId != null ? replicaId : publicUrl;
  }

  /** A replica from a control-plane {@code Replica} object, or null without a usable public URL. */
  public static RelayCandidate fromJson(JsonObject replica, String regionFallback) {
    String url = replica.getString("publicUrl");
    if (url == null || url.isBlank()) {
      return null;
    }
    return new RelayCandidate(replica.getString("region", regionFallback), replica.getString("replicaId"), url);
  }

  /**
   * The healthy replicas of a {@code {"regions": [Region]}} answer (optionally of one region
   * only), in the answer's order.
   */
  public static List<RelayCandidate> healthyOf(JsonObject regionsAnswer, String region) {
    List<RelayCandidate> out = new ArrayList<>();
    JsonArray regions = regionsAnswer.getJsonArray("regions", new JsonArray());
    for (int i = 0; i < regions.size(); i++) {
      JsonObject r = regions.getJsonObject(i);
      if (region != null && !region.equals(r.getString("region"))) {
        continue;
      }
      out.addAll(healthyReplicas(r.getJsonArray("replicas", new JsonArray()), r.getString("region")));
    }
    return out;
  }

  /** The healthy replicas of a {@code [Replica]} array (e.g. a ticket's {@code relays}). */
  public static List<RelayCandidate> healthyReplicas(JsonArray replicas, String regionFallback) {
    List<RelayCandidate> out = new ArrayList<>();
    for (int j = 0; j < replicas.size(); j++) {
      JsonObject rep = replicas.getJsonObject(j);
      RelayCandidate c = rep.getBoolean("healthy", true) ? fromJson(rep, regionFallback) : null;
      if (c != null) {
        out.add(c);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return (region != null ? region + "/" : "") + (replicaId != null ? replicaId + " " : "") + publicUrl;
  }
}
