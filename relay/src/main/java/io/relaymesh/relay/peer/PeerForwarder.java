package io.relaymesh.relay.peer;

import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.ControlClient;
import io.relaymesh.relay.tunnel.Forwarder;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Forwards a stream (a client's, or an app proxy connection) for an agent that is not connected to this relay, one hop: asks the control
 * plane which healthy replicas hold the agent ({@code GET /api/v1/relay/agents/:id/replicas},
 * cached {@link #CACHE_MS}), skips this relay, prefers a replica with a live peer session, and
 * opens the stream on the peer session ({@link PeerSessions}) to it. A replica that cannot be
 * reached is skipped for the next one; a refusal by the other relay or its agent is passed
 * through as it is. Failures name where forwarding failed: {@code agent 'main' of workspace
 * 'alice/dev' is on relay eu/eu-1, which did not answer: ...}.
 *
 * <p>Threading: thread-safe.
 */
public final class PeerForwarder implements Forwarder {

  static final long CACHE_MS = 2_000;
  private static final int MAX_REASON = 1000;

  private record Cached(long atNanos, JsonArray replicas) {}

  private final ControlClient control;
  private final PeerSessions sessions;
  private final String region;
  private final String replicaId;
  private final Map<Long, Cached> holders = new ConcurrentHashMap<>();

  public PeerForwarder(ControlClient control, PeerSessions sessions, String region,
      String replicaId) {
    this.control = control;
    this.sessions = sessions;
    this.region = region;
    this.replicaId = replicaId;
  }

  @Override
  public Future<Forwarded> open(long agentId, String agentDescription, int kind, String target,
      JsonObject metadata) {
    return holders(agentId).transform(ar -> {
      if (ar.failed()) {
        return refused(ErrorCode.UNREACHABLE, agentDescription + " is not connected to this"
            + " relay, and the control plane cannot say which relay holds it: "
            + ar.cause().getMessage());
      }
      List<PeerSessions.Target> candidates = new ArrayList<>();
      for (Object o : ar.result()) {
        JsonObject r = (JsonObject) o;
        boolean self = region.equals(r.getString("region"))
            && replicaId.equals(r.getString("replicaId"));
        if (!self && r.getBoolean("healthy", true)) {
          PeerSessions.Target t = PeerSessions.Target.of(r);
          candidates.add(sessions.has(t) ? 0 : candidates.size(), t);
        }
      }
      if (candidates.isEmpty()) {
        holders.remove(agentId);
        return refused(ErrorCode.UNREACHABLE, agentDescription + " " + NOT_HELD);
      }
      return attempt(agentId, agentDescription, kind, target, metadata, candidates, 0,
          new StringBuilder());
    });
  }

  private Future<JsonArray> holders(long agentId) {
    Cached c = holders.get(agentId);
    if (c != null && System.nanoTime() - c.atNanos() < CACHE_MS * 1_000_000) {
      return Future.succeededFuture(c.replicas());
    }
    return control.replicasHolding(agentId).onSuccess(list -> {
      if (!list.isEmpty()) {
        holders.put(agentId, new Cached(System.nanoTime(), list));
      }
    });
  }

  private Future<Forwarded> attempt(long agentId, String agent, int kind, String target,
      JsonObject metadata, List<PeerSessions.Target> candidates, int i, StringBuilder errors) {
    PeerSessions.Target t = candidates.get(i);
    return sessions.session(t)
        .compose(s -> s.open(kind, target, metadata.toBuffer()))
        .transform(ar -> {
          if (ar.succeeded()) {
            return Future.succeededFuture(new Forwarded(ar.result(), t.name()));
          }
          Throwable e = ar.cause();
          if (e instanceof StreamRefusedException r && r.isRemote()
              && r.code() != ErrorCode.REFUSED && r.code() != ErrorCode.GOING_AWAY) {
            if (r.code() == ErrorCode.UNREACHABLE) {
              holders.remove(agentId); // the agent moved: ask again next time
            }
            return Future.failedFuture(e); // the other relay's (or agent's) answer
          }
          String why = e instanceof StreamResetException r ? r.code() + " " + r.reason()
              : String.valueOf(e.getMessage());
          errors.append(errors.length() == 0 ? agent + " is on relay " : "; on relay ")
              .append(t.name()).append(", which did not answer: ").append(why);
          if (i + 1 < candidates.size()) {
            return attempt(agentId, agent, kind, target, metadata, candidates, i + 1, errors);
          }
          holders.remove(agentId);
          return refused(ErrorCode.UNREACHABLE, errors.toString());
        });
  }

  private static <T> Future<T> refused(ErrorCode code, String reason) {
    String r = reason.length() <= MAX_REASON ? reason : reason.substring(0, MAX_REASON) + "...";
    return Future.failedFuture(new StreamRefusedException(code, code.value(), r, false));
  }
}
