package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.auth.Principal;
import io.relaymesh.control.auth.TokenKind;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.store.ConnectionStore;
import io.relaymesh.control.tickets.PeerTickets;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.UUID;

/**
 * Regions and relays: admins create and delete regions and create, list and revoke a region's
 * relay tokens (rotation without an outage); users list regions with health; relays
 * (relay token) register, heartbeat, deregister, check agent tokens, report agent presence, ask
 * where an agent is, get peer tickets for one-hop forwarding, and post connection-log records,
 * which admins list.
 */
final class RelayApi {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RelayApi.class);
  static final int MAX_LIST = 500;

  private final Services s;

  RelayApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    handle(r.get("/api/v1/relays"), ctx -> Api.user(s, ctx)
        .compose(p -> s.relays().list())
        .map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(g -> a.add(g.toJson()));
          return Reply.ok(new JsonObject().put("regions", a));
        }));
    handle(r.get("/api/v1/agent/me"), ctx -> Api.agent(s, ctx).map(a -> Reply.ok(a.toJson())));
    handle(r.get("/api/v1/agent/relays"), ctx -> Api.agent(s, ctx)
        .compose(a -> s.relays().list())
        .map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(g -> {
            JsonObject o = g.toJson();
            JsonArray healthy = new JsonArray();
            g.replicas().stream().filter(x -> x.healthy()).forEach(x -> healthy.add(x.toJson()));
            a.add(o.put("replicas", healthy));
          });
          return Reply.ok(new JsonObject().put("regions", a));
        }));
    handle(r.post("/api/v1/relays"), ctx -> Api.admin(s, ctx).compose(p -> {
      String region = Api.name(Api.body(ctx), "region", "region", true);
      String token = Tokens.generate(TokenKind.RELAY);
      return s.relays().createRegion(region, Tokens.hash(token))
          .map(g -> Reply.created(new JsonObject().put("region", g.toJson())
              .put("relayToken", token)));
    }));
    handle(r.delete("/api/v1/relays/:region"), ctx -> Api.admin(s, ctx)
        .compose(p -> s.relays().deleteRegion(ctx.pathParam("region")))
        .map(deleted -> {
          if (!deleted) {
            throw ControlException.notFound("region_not_found",
                "region '" + ctx.pathParam("region") + "' not found");
          }
          return Reply.noContent();
        }));
    handle(r.post("/api/v1/relays/:region/tokens"), ctx -> Api.admin(s, ctx)
        .compose(p -> region(ctx))
        .compose(g -> {
          String token = Tokens.generate(TokenKind.RELAY);
          return s.relays().createToken(g.id(), Tokens.hash(token))
              .map(t -> Reply.created(new JsonObject().put("region", g.name()).put("id", t.id())
                  .put("token", token).put("createdAt", t.createdAt().toString())));
        }));
    handle(r.get("/api/v1/relays/:region/tokens"), ctx -> Api.admin(s, ctx)
        .compose(p -> region(ctx))
        .compose(g -> s.relays().tokens(g.id()).map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(t -> a.add(t.toJson()));
          return Reply.ok(new JsonObject().put("region", g.name()).put("tokens", a));
        })));
    handle(r.delete("/api/v1/relays/:region/tokens/:id"), ctx -> Api.admin(s, ctx)
        .compose(p -> region(ctx))
        .compose(g -> {
          String id = ctx.pathParam("id");
          long tokenId;
          try {
            tokenId = Long.parseLong(id);
          } catch (NumberFormatException e) {
            throw ControlException.notFound("relay_token_not_found", "relay token '"
                + Api.abbreviate(id) + "' of region '" + g.name() + "' not found (token ids "
                + "are numbers: see GET /api/v1/relays/" + g.name() + "/tokens)");
          }
          String force = ctx.queryParams().get("force");
          if (force != null && !force.equals("true") && !force.equals("false")) {
            throw ControlException.badRequest("'force' must be true or false");
          }
          return s.relays().revokeToken(g.id(), g.name(), tokenId, "true".equals(force))
              .map(x -> Reply.noContent());
        }));

    handle(r.post("/api/v1/relay/register"), this::register);
    handle(r.post("/api/v1/relay/deregister"), ctx -> Api.relay(s, ctx).compose(p ->
        s.relays().deregister(p.regionId(), replicaId(Api.body(ctx))).map(x -> Reply.noContent())));
    handle(r.post("/api/v1/relay/peer-ticket"), this::peerTicket);
    handle(r.post("/api/v1/relay/heartbeat"), ctx -> Api.relay(s, ctx).compose(p -> {
      String replica = replicaId(Api.body(ctx));
      return s.relays().heartbeat(p.regionId(), p.tokenId(), replica).map(ok -> {
        if (!ok) {
          throw notRegistered(p, replica);
        }
        return Reply.noContent();
      });
    }));
    handle(r.post("/api/v1/relay/agent-auth"), ctx -> Api.relay(s, ctx).compose(p -> {
      String token = Api.string(Api.body(ctx), "token", true);
      if (!Tokens.wellFormed(token, TokenKind.AGENT)) {
        throw new ControlException(403, "agent_token_invalid", "not an agent token (rma_...)");
      }
      return s.workspaces().agentByToken(Tokens.hash(token)).map(a -> {
        if (a == null) {
          throw new ControlException(403, "agent_token_invalid",
              "agent token is revoked or unknown (was its workspace deleted?)");
        }
        return Reply.ok(a.toJson());
      });
    }));
    handle(r.post("/api/v1/relay/presence"), this::presence);
    handle(r.get("/api/v1/relay/agents/:agentId/replicas"), ctx -> Api.relay(s, ctx)
        .compose(p -> s.relays().replicasHolding(longParam(ctx.pathParam("agentId"), "agentId")))
        .map(list -> {
          JsonArray a = new JsonArray();
          list.forEach(x -> a.add(x.toJson()));
          return Reply.ok(new JsonObject().put("replicas", a));
        }));
    handle(r.post("/api/v1/relay/connections"), this::recordConnection);
    handle(r.get("/api/v1/connections"), this::listConnections);
  }

  private record RegionRef(long id, String name) {}

  /** The region named by the {@code :region} path parameter; 404 naming it when unknown. */
  private Future<RegionRef> region(RoutingContext ctx) {
    String name = ctx.pathParam("region");
    return s.relays().regionId(name).map(id -> {
      if (id == null) {
        throw ControlException.notFound("region_not_found",
            "region '" + Api.abbreviate(name) + "' not found");
      }
      return new RegionRef(id, name);
    });
  }

  private Future<Reply> register(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String replica = replicaId(b);
      String publicUrl = Api.string(b, "publicUrl", true);
      if (!publicUrl.startsWith("https://") && !publicUrl.startsWith("http://")) {
        throw ControlException.badRequest("field 'publicUrl' must be an http(s) URL");
      }
      String fingerprint = fingerprint(Api.string(b, "tlsFingerprint", false));
      String instance = token(b, "instanceId");
      return s.relays().register(p.regionId(), p.tokenId(), replica, publicUrl,
              Api.string(b, "appsHost", false), Api.string(b, "peerAddress", false),
              Api.string(b, "version", false), fingerprint, instance)
          .map(restart -> {
            if (restart != null) {
              LOG.info("relay replica {}/{} registered by a new process (instance {}, was {}): "
                  + "{} open connection record(s) of the previous process ended as {} at its "
                  + "last heartbeat {}", p.region(), replica, instance, restart.previousInstance(),
                  restart.recordsEnded(), ConnectionStore.RELAY_LOST, restart.lastHeartbeat());
            }
            return restart;
          })
          .map(x -> Reply.ok(new JsonObject().put("region", p.region()).put("replicaId", replica)
              .put("heartbeatIntervalSeconds",
                  Math.max(1, s.config().heartbeatTimeout().toSeconds() / 3))
              .put("heartbeatTimeoutSeconds", s.config().heartbeatTimeout().toSeconds())));
    });
  }

  /**
   * A peer ticket for the calling replica (registered, of the relay token's region) to open a
   * peer session to replica {@code targetReplicaId} of {@code targetRegion} (registered).
   */
  private Future<Reply> peerTicket(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String replica = replicaId(b);
      String targetRegion = Api.name(b, "targetRegion", "target region", true);
      String targetReplica = replicaId(b, "targetReplicaId");
      return s.relays().replicaExists(p.regionId(), replica).compose(exists -> {
        if (!exists) {
          throw notRegistered(p, replica);
        }
        return s.relays().replica(targetRegion, targetReplica);
      }).compose(target -> {
        if (target == null) {
          throw ControlException.notFound("replica_not_registered", "target relay replica '"
              + targetReplica + "' of region '" + targetRegion + "' is not registered");
        }
        return s.keys().current();
      }).map(key -> {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        PeerTickets.Claims claims = new PeerTickets.Claims(UUID.randomUUID().toString(),
            s.accessUrl(), p.region(), replica, targetRegion, targetReplica, now,
            now.plus(PeerTickets.TTL));
        String ticket = PeerTickets.sign(key, claims);
        s.metrics().ticketIssued(ControlMetrics.PEER_TICKET);
        return Reply.ok(new JsonObject().put("ticket", ticket)
            .put("expiresAt", claims.expiresAt().toString()));
      });
    });
  }

  /** A SHA-256 certificate fingerprint as {@code ab:cd:...} (64 hex digits), or null. */
  static String fingerprint(String v) {
    if (v == null) {
      return null;
    }
    String hex = v.trim().toLowerCase(Locale.ROOT);
    if (hex.startsWith("sha256:")) {
      hex = hex.substring("sha256:".length());
    }
    hex = hex.replace(":", "");
    if (!hex.matches("[0-9a-f]{64}")) {
      throw ControlException.badRequest("field 'tlsFingerprint' must be a SHA-256 fingerprint: "
          + "64 hex digits, colons allowed");
    }
    StringBuilder out = new StringBuilder(95);
    for (int i = 0; i < 64; i += 2) {
      out.append(i == 0 ? "" : ":").append(hex, i, i + 2);
    }
    return out.toString();
  }

  private Future<Reply> presence(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String replica = replicaId(b);
      Object agentId = b.getValue("agentId");
      Object connected = b.getValue("connected");
      if (!(agentId instanceof Number id)) {
        throw ControlException.badRequest("field 'agentId' must be a number");
      }
      if (!(connected instanceof Boolean c)) {
        throw ControlException.badRequest("field 'connected' must be true or false");
      }
      return s.relays().replicaExists(p.regionId(), replica).compose(exists -> {
        if (!exists) {
          throw notRegistered(p, replica);
        }
        return s.workspaces().agentExists(id.longValue());
      }).compose(exists -> {
        if (!exists) {
          throw ControlException.notFound("agent_not_found", "agent " + id + " not found");
        }
        return c ? s.relays().agentConnected(p.regionId(), replica, id.longValue())
            : s.relays().agentDisconnected(p.regionId(), replica, id.longValue());
      }).map(x -> Reply.noContent());
    });
  }

  private Future<Reply> recordConnection(RoutingContext ctx) {
    return Api.relay(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String replica = replicaId(b);
      Object port = b.getValue("port");
      if (port != null && !(port instanceof Number)) {
        throw ControlException.badRequest("field 'port' must be a number");
      }
      return s.connections().insert(Api.string(b, "username", true),
              Api.string(b, "workspace", true), Api.string(b, "agent", true),
              port == null ? null : ((Number) port).intValue(), Api.string(b, "app", false),
              p.region(), replica, Api.string(b, "clientAddress", false),
              Api.string(b, "ticketId", false), time(b, "startedAt", true),
              time(b, "endedAt", false), nonNegative(b, "bytesIn"), nonNegative(b, "bytesOut"),
              Api.string(b, "closeReason", false), Api.string(b, "via", false), recordKey(b))
          .map(id -> Reply.created(new JsonObject().put("id", id)));
    });
  }

  private Future<Reply> listConnections(RoutingContext ctx) {
    return Api.admin(s, ctx).compose(p -> {
      String l = ctx.queryParams().get("limit");
      String before = ctx.queryParams().get("before");
      int limit = l == null ? 100 : (int) longParam(l, "limit");
      if (limit < 1 || limit > MAX_LIST) {
        throw ControlException.badRequest("limit must be between 1 and " + MAX_LIST);
      }
      return s.connections().list(limit, before == null ? null : longParam(before, "before"));
    }).map(list -> {
      JsonArray a = new JsonArray();
      list.forEach(c -> a.add(c.toJson()));
      return Reply.ok(new JsonObject().put("connections", a));
    });
  }

  /** The optional {@code key} of a connection record: 1-64 letters, digits and '-' (a UUID). */
  private static String recordKey(JsonObject b) {
    return token(b, "key");
  }

  /** Optional field {@code field}: 1-64 letters, digits and '-' (a UUID), or null. */
  private static String token(JsonObject b, String field) {
    String k = Api.string(b, field, false);
    if (k != null && (k.isEmpty() || k.length() > 64 || !k.matches("[A-Za-z0-9-]+"))) {
      throw ControlException.badRequest("field '" + field + "' must be 1-64 characters of "
          + "letters, digits and '-'");
    }
    return k;
  }

  private static String replicaId(JsonObject b) {
    return replicaId(b, "replicaId");
  }

  private static String replicaId(JsonObject b, String field) {
    String r = Api.string(b, field, true);
    if (r.isEmpty() || r.length() > 128 || !r.matches("[A-Za-z0-9._:-]+")) {
      throw ControlException.badRequest("field '" + field + "' must be 1-128 characters of "
          + "letters, digits, '.', '_', ':' and '-'");
    }
    return r;
  }

  private static ControlException notRegistered(Principal.Relay p, String replica) {
    return ControlException.notFound("replica_not_registered", "relay replica '" + replica
        + "' of region '" + p.region() + "' is not registered; register it first");
  }

  private static long longParam(String v, String name) {
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw ControlException.badRequest("'" + name + "' must be an integer");
    }
  }

  private static OffsetDateTime time(JsonObject b, String key, boolean required) {
    String v = Api.string(b, key, required);
    try {
      return v == null ? null : OffsetDateTime.parse(v);
    } catch (DateTimeParseException e) {
      throw ControlException.badRequest("field '" + key + "' must be an ISO-8601 timestamp");
    }
  }

  private static long nonNegative(JsonObject b, String key) {
    Object v = b.getValue(key, 0);
    if (!(v instanceof Number n) || n.longValue() < 0) {
      throw ControlException.badRequest("field '" + key + "' must be a non-negative number");
    }
    return n.longValue();
  }
}
