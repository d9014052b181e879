package io.relaymesh.cli;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * The last ticket answer per workspace agent port, in {@code <config dir>/tickets.json} (mode
 * 0600, like {@code credentials.json}, whose session token is worth more than a ticket), so that
 * {@code ssh --stdio} started again within a ticket's lifetime (VS Code and {@code scp} open
 * several connections in a row) skips the control-plane round trip. A ticket is reused only while
 * it has at least {@link #MIN_REMAINING} left before its {@code expiresAt}: relays check the
 * expiry when the tunnel is dialed, tickets are not single-use (docs/api.md, "Connection
 * tickets"), so a reused ticket grants nothing the control plane did not grant for its lifetime.
 * Keys name the control plane, the user, the workspace, agent, port and pinned region. Login and
 * logout delete the file; a damaged file is ignored; {@code RELAYMESH_TICKET_CACHE=off} disables
 * it. Nothing is logged about its content.
 */
final class TicketCache {

  static final String FILE = "tickets.json";
  /** A ticket with less than this left is not reused (the dial itself takes time). */
  static final Duration MIN_REMAINING = Duration.ofSeconds(30);

  private final Path file;

  TicketCache(Path configDir) {
    this.file = configDir.resolve(FILE);
  }

  static boolean enabled(Env env) {
    return !"off".equalsIgnoreCase(env.vars().getOrDefault("RELAYMESH_TICKET_CACHE", ""));
  }

  static String key(String controlUrl, String username, String workspace, String agent, int port,
      String region) {
    return controlUrl + " " + username + " " + workspace + "." + agent + ":" + port
        + (region == null ? "" : " region " + region);
  }

  Path file() {
    return file;
  }

  /** A ticket answer for {@code key} with at least {@link #MIN_REMAINING} left at {@code now}, or null. */
  JsonObject get(String key, Instant now) {
    return get(key, now, MIN_REMAINING);
  }

  /**
   * A ticket answer for {@code key} with at least {@code minLeft} left at {@code now}, or null;
   * {@link Duration#ZERO}: any not yet expired one (the fallback while the control plane is down).
   */
  JsonObject get(String key, Instant now, Duration minLeft) {
    try {
      if (!Files.isRegularFile(file)) {
        return null;
      }
      JsonObject answer = new JsonObject(Files.readString(file)).getJsonObject(key);
      if (answer == null || answer.getString("ticket") == null || answer.getString("expiresAt") == null) {
        return null;
      }
      Instant expires = Instant.parse(answer.getString("expiresAt"));
      return expires.minus(minLeft).isBefore(now) || !expires.isAfter(now) ? null : answer;
    } catch (IOException | RuntimeException damaged) { // DecodeException, DateTimeParseException
      return null;
    }
  }

  /**
   * Stores (or with null, removes) the answer for {@code key}, dropping expired entries; failures
   * to write are ignored (the next run asks the control plane).
   */
  void put(String key, JsonObject answer, Instant now) {
    JsonObject all = new JsonObject();
    try {
      if (Files.isRegularFile(file)) {
        all.mergeIn(new JsonObject(Files.readString(file)));
      }
    } catch (IOException | RuntimeException damaged) {
      // rewritten below
    }
    all.fieldNames().removeIf(k -> expired(all.getValue(k), now));
    if (answer == null) {
      all.remove(key);
    } else {
      all.put(key, answer);
    }
    try {
      if (all.isEmpty()) {
        Files.deleteIfExists(file);
      } else {
        StateFiles.write(file, all.encode());
      }
    } catch (IOException | RuntimeException ignored) {
      // only a cache
    }
  }

  private static boolean expired(Object entry, Instant now) {
    try {
      return !(entry instanceof JsonObject o) || !Instant.parse(o.getString("expiresAt")).isAfter(now);
    } catch (DateTimeParseException | NullPointerException e) {
      return true;
    }
  }

  /** Deletes the file (login, logout). */
  static void clear(Path configDir) {
    try {
      Files.deleteIfExists(configDir.resolve(FILE));
    } catch (IOException ignored) {
      // stale tickets expire within minutes anyway
    }
  }
}
