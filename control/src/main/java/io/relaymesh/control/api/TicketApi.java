package io.relaymesh.control.api;

import static io.relaymesh.control.api.Api.handle;

import io.relaymesh.control.ControlException;
import io.relaymesh.control.ControlMetrics;
import io.relaymesh.control.api.Api.Reply;
import io.relaymesh.control.store.Model.Agent;
import io.relaymesh.control.store.Model.Region;
import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.control.tickets.TicketIssuer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/** Connection tickets and the public keys (JWKS) that verify them. */
final class TicketApi {

  private final Services s;

  TicketApi(Services s) {
    this.s = s;
  }

  void mount(Router r) {
    handle(r.get("/api/v1/keys"), ctx -> s.keys().current()
        .compose(k -> s.keys().published())
        .map(set -> {
          ctx.response().putHeader("Content-Type", "application/jwk-set+json");
          return new Reply(200, new JsonObject(set.toJSONObject(true)));
        }));
    handle(r.post("/api/v1/tickets"), this::issue);
  }

  private Future<Reply> issue(RoutingContext ctx) {
    return Api.user(s, ctx).compose(p -> {
      JsonObject b = Api.body(ctx);
      String ws = Api.string(b, "workspace", true);
      String agentName = b.getValue("agent") == null ? WorkspaceApi.DEFAULT_AGENT
          : Api.name(b, "agent", "agent", true);
      Object portValue = b.getValue("port");
      if (!(portValue instanceof Number n) || n.doubleValue() != n.intValue()
          || n.intValue() < 1 || n.intValue() > 65535) {
        throw ControlException.badRequest("field 'port' must be an integer between 1 and 65535");
      }
      int port = n.intValue();
      String region = Api.name(b, "region", "region", false);
      int slash = ws.indexOf('/');
      String owner = slash < 0 ? p.username() : ws.substring(0, slash);
      String name = slash < 0 ? ws : ws.substring(slash + 1);
      Future<Region> regionCheck = region == null ? Future.succeededFuture(null)
          : s.relays().find(region).compose(g -> g != null ? Future.succeededFuture(g)
              : Future.failedFuture(ControlException.notFound("region_not_found",
                  "region '" + region + "' not found")));
      return WorkspaceApi.owned(s, p, owner, name).compose(w -> {
        Agent agent = w.agent(agentName);
        if (agent == null) {
          throw ControlException.notFound("agent_not_found",
              "agent '" + agentName + "' of workspace '" + w.fullName() + "' not found");
        }
        return regionCheck.compose(g -> s.relays().list()).compose(regions -> s.keys().current()
            .map(key -> {
          Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
          String audience = region == null ? TicketClaims.ALL_RELAYS
              : TicketClaims.regionAudience(region);
          TicketClaims claims = new TicketClaims(UUID.randomUUID().toString(), s.accessUrl(),
              p.username(), p.userId(), w.fullName(), w.id(), agent.name(), agent.id(), port,
              List.of(audience), now, now.plus(s.config().ticketTtl()));
          String ticket = TicketIssuer.sign(key, claims);
          s.metrics().ticketIssued(ControlMetrics.CLIENT_TICKET);
          JsonArray relays = new JsonArray();
          agent.connectedTo().forEach(x -> relays.add(x.toJson()));
          // every healthy replica: the client may pick its nearest, which forwards to one of
          // `relays` (docs/relay.md "Forwarding")
          JsonArray all = new JsonArray();
          regions.forEach(rg -> rg.replicas().stream().filter(x -> x.healthy())
              .forEach(x -> all.add(x.toJson())));
          return Reply.created(new JsonObject().put("ticket", ticket).put("allRelays", all)
              .put("ticketId", claims.ticketId()).put("kid", key.getKeyID())
              .put("audience", audience).put("expiresAt", claims.expiresAt().toString())
              .put("workspace", w.fullName()).put("agent", agent.name()).put("port", port)
              .put("relays", relays));
        }));
      });
    });
  }
}
