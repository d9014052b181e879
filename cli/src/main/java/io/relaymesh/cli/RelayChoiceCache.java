package io.relaymesh.cli;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * The relay chosen last time per workspace agent, in {@code <config dir>/relay-choice.json}:
 * {@code {"<control URL> <owner/workspace>.<agent>[ region <R>]": {"replicaId", "region",
 * "publicUrl", "rttMs", "measuredAt"}}} ({@code rttMs} and {@code measuredAt} null for a choice
 * that had no alternative). It lets hysteresis work across CLI runs (the previous choice is the
 * "current" one) and spares a fresh {@code ssh} the measurement while the entry is younger than
 * {@code cli.relay-choice-max-age}. Nothing secret is stored. A damaged file is ignored (and
 * rewritten on the next choice); writes are atomic (temporary file, then rename), so concurrent
 * CLI processes at worst lose each other's entry.
 */
final class RelayChoiceCache {

  static final String FILE = "relay-choice.json";

  /** One remembered choice. */
  record Entry(String replicaId, String region, String publicUrl, Double rttMs, Instant measuredAt) {

    String key() {
      return replicaId != null ? replicaId : publicUrl;
    }

    boolean freshAt(Instant now, Duration maxAge) {
      return measuredAt != null && !measuredAt.plus(maxAge).isBefore(now) && !measuredAt.isAfter(now.plusSeconds(60));
    }

    JsonObject toJson() {
      return new JsonObject().put("replicaId", replicaId).put("region", region).put("publicUrl", publicUrl)
          .put("rttMs", rttMs).put("measuredAt", measuredAt == null ? null : measuredAt.toString());
    }

    static Entry fromJson(JsonObject o) {
      String at = o.getString("measuredAt");
      Object rtt = o.getValue("rttMs");
      return new Entry(o.getString("replicaId"), o.getString("region"), o.getString("publicUrl"),
          rtt instanceof Number n ? n.doubleValue() : null, at == null ? null : Instant.parse(at));
    }
  }

  private final Path file;

  RelayChoiceCache(Path configDir) {
    this.file = configDir.resolve(FILE);
  }

  Path file() {
    return file;
  }

  /** The entry for {@code key}, or null (also when the file is missing or damaged). */
  Entry get(String key) {
    try {
      JsonObject o = read().getJsonObject(key);
      return o == null || o.getString("publicUrl") == null ? null : Entry.fromJson(o);
    } catch (RuntimeException damaged) {
      return null;
    }
  }

  /** Stores (or with null, removes) the entry for {@code key}; failures to write are ignored. */
  void put(String key, Entry e) {
    JsonObject all;
    try {
      all = read();
    } catch (RuntimeException damaged) {
      all = new JsonObject();
    }
    if (e == null) {
      all.remove(key);
    } else {
      all.put(key, e.toJson());
    }
    try {
      StateFiles.write(file, all.encodePrettily());
    } catch (IOException | RuntimeException ignored) {
      // only a cache: the next run measures again
    }
  }

  private JsonObject read() {
    if (!Files.isRegularFile(file)) {
      return new JsonObject();
    }
    try {
      return new JsonObject(Files.readString(file));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
