package io.relaymesh.relay.peer;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.relay.control.ControlClient;
import io.relaymesh.relay.tunnel.Tunnels;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This relay's peer sessions to other relays: at most one usable session per target replica,
 * shared by every stream forwarded there. A session is dialed on first use (a peer ticket from
 * the control plane, then {@link TunnelDialer} to {@code <peer address or public URL>/api/v1/
 * tunnel/peer}, pinning the target's registered certificate fingerprint, or with system trust
 * when it registered none); concurrent opens wait for the same dial. A session is replaced (the
 * old one gets GOAWAY and finishes its streams) when it is closed, going away, or its peer ticket
 * expires within {@link #RENEW_BEFORE}. After a failed dial, opens to that replica fail at once
 * until a jittered, exponentially growing delay ({@link #MIN_RETRY_MS} .. {@link #MAX_RETRY_MS})
 * has passed, so a dead relay is not hammered.
 *
 * <p>Threading: thread-safe (the map is guarded by {@code this}); sessions live on the event
 * loop that first dialed them.
 */
public final class PeerSessions {

  private static final Logger LOG = LoggerFactory.getLogger(PeerSessions.class);
  static final Duration RENEW_BEFORE = Duration.ofSeconds(60);
  static final long MIN_RETRY_MS = 250;
  static final long MAX_RETRY_MS = 5_000;
  /** Connect and handshake timeouts: below the 10 s open timeout of the client's stream. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  /**
   * A relay replica to dial.
   *
   * @param url its peer address or public URL ({@code https://host:port})
   * @param fingerprint SHA-256 of its TLS certificate, or null for system trust
   */
  public record Target(String region, String replicaId, String url, String fingerprint) {

    /** {@code <region>/<replicaId>}. */
    public String name() {
      return region + "/" + replicaId;
    }

    /** From a {@code Replica} of the control plane's API. */
    public static Target of(JsonObject replica) {
      String peer = replica.getString("peerAddress");
      String url = peer != null && !peer.isBlank() ? peer : replica.getString("publicUrl");
      if (url != null && !url.contains("://")) {
        url = "https://" + url;
      }
      return new Target(replica.getString("region"), replica.getString("replicaId"), url,
          replica.getString("tlsFingerprint"));
    }
  }

  private record Peer(Session session, Instant ticketExpires) {}

  private static final class Entry {
    Peer current;
    Future<Peer> pending;
    long retryAtNanos;
    int failures;
    String lastError;
  }

  private final Vertx vertx;
  private final ControlClient control;
  private final Tunnels tunnels;
  private final String replicaId;
  private final TunnelConfig tunnel;
  private final Map<String, Entry> peers = new HashMap<>();
  private final AtomicLong dials = new AtomicLong();
  private volatile boolean closed;

  public PeerSessions(Vertx vertx, ControlClient control, Tunnels tunnels, String replicaId,
      TunnelConfig tunnel) {
    this.vertx = vertx;
    this.control = control;
    this.tunnels = tunnels;
    this.replicaId = replicaId;
    this.tunnel = tunnel;
  }

  /** Successful dials so far (a session reused by many streams counts once). */
  public long dials() {
    return dials.get();
  }

  /** Whether a usable session to {@code target} exists now. */
  public synchronized boolean has(Target target) {
    Entry e = peers.get(target.name());
    return e != null && usable(e.current);
  }

  /** A usable peer session to {@code target}: the current one, or a new one dialed now. */
  public Future<Session> session(Target target) {
    Peer old;
    Future<Peer> dial;
    synchronized (this) {
      if (closed) {
        return Future.failedFuture("relay is shutting down");
      }
      Entry e = peers.computeIfAbsent(target.name(), k -> new Entry());
      if (usable(e.current)) {
        return Future.succeededFuture(e.current.session());
      }
      if (e.pending != null) {
        return e.pending.map(Peer::session);
      }
      long wait = e.retryAtNanos - System.nanoTime();
      if (e.failures > 0 && wait > 0) {
        return Future.failedFuture(e.lastError + " (next attempt in "
            + Math.max(1, wait / 1_000_000) + " ms)");
      }
      old = e.current;
      dial = dial(target);
      e.pending = dial;
      dial.onComplete(ar -> settle(target, e, ar.succeeded() ? ar.result() : null,
          ar.failed() ? ar.cause() : null));
    }
    if (old != null && !old.session().isClosed() && !old.session().isGoingAway()) {
      old.session().goAway(ErrorCode.NO_ERROR, "replaced by a fresh peer session");
    }
    return dial.map(Peer::session);
  }

  private void settle(Target target, Entry e, Peer peer, Throwable failure) {
    synchronized (this) {
      e.pending = null;
      if (peer != null) {
        e.current = peer;
        e.failures = 0;
        e.lastError = null;
      } else {
        e.failures++;
        e.lastError = String.valueOf(failure.getMessage());
        long cap = Math.min(MAX_RETRY_MS, MIN_RETRY_MS << Math.min(e.failures - 1, 10));
        e.retryAtNanos = System.nanoTime() + ControlClient.jitter(cap) * 1_000_000;
      }
    }
    if (peer != null) {
      dials.incrementAndGet();
      if (closed) {
        peer.session().close(ErrorCode.GOING_AWAY, "relay is shutting down");
      }
      peer.session().closeFuture().onComplete(x -> {
        synchronized (this) {
          if (e.current == peer) {
            e.current = null;
          }
        }
      });
    } else if (e.failures == 1 || e.failures % 10 == 0) {
      LOG.warn("relay: peer session to {} failed (attempt {}): {}", target.name(), e.failures,
          e.lastError);
    }
  }

  private boolean usable(Peer p) {
    return p != null && !p.session().isClosed() && !p.session().isGoingAway()
        && Instant.now().plus(RENEW_BEFORE).isBefore(p.ticketExpires());
  }

  private Future<Peer> dial(Target target) {
    if (target.url() == null) {
      return Future.failedFuture("it registered no URL");
    }
    TrustSpec trust;
    try {
      trust = target.fingerprint() == null ? TrustSpec.system()
          : TrustSpec.pinnedSha256(target.fingerprint());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture("its registered certificate fingerprint is unusable: "
          + e.getMessage());
    }
    io.relaymesh.relay.tunnel.TunnelMetrics metrics =
        tunnels.newTunnelMetrics(io.relaymesh.relay.tunnel.TunnelMetrics.Type.PEER_OUT);
    DialOptions options = DialOptions.defaults().withTrust(trust)
        .withTimeouts(CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT).withTunnel(tunnel)
        .withMetrics(metrics);
    String url = stripSlash(target.url()) + PeerEndpoint.PATH;
    return control.peerTicket(replicaId, target.region(), target.replicaId())
        .recover(e -> Future.failedFuture("no peer ticket from the control plane: "
            + e.getMessage()))
        .compose(t -> {
          Instant expires = Instant.parse(t.getString("expiresAt"));
          return TunnelDialer.create(vertx, options)
              .dial(url, Map.of("Authorization", "Bearer " + t.getString("ticket")),
                  st -> st.reject(ErrorCode.UNSUPPORTED,
                      "relays do not open streams towards the forwarding relay"), null)
              .map(d -> {
                Session s = d.session();
                tunnels.track(s);
                tunnels.metrics().peerSession(false, 1);
                String id = tunnels.nextId("po");
                Instant opened = Instant.now();
                LOG.atInfo().setMessage("peer tunnel open").addKeyValue("tunnel_id", id)
                    .addKeyValue("direction", "out").addKeyValue("peer", target.name())
                    .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", url)
                    .addKeyValue("trust", trust).addKeyValue("expires", expires).log();
                s.closeFuture().onComplete(x -> {
                  tunnels.metrics().peerSession(false, -1);
                  LOG.atInfo().setMessage("peer tunnel closed").addKeyValue("tunnel_id", id)
                      .addKeyValue("direction", "out").addKeyValue("peer", target.name())
                      .addKeyValue("relay", tunnels.relayName()).addKeyValue("remote", url)
                      .addKeyValue("streams", metrics.streams())
                      .addKeyValue("bytes_in", metrics.bytesReceived())
                      .addKeyValue("bytes_out", metrics.bytesSent())
                      .addKeyValue("duration_ms", java.time.Duration.between(opened,
                          Instant.now()).toMillis())
                      .addKeyValue("reason", Tunnels.closeReason(x)).log();
                });
                return new Peer(s, expires);
              });
        });
  }

  /** Stops dialing and closes every peer session. */
  public void close() {
    Map<String, Entry> all;
    synchronized (this) {
      closed = true;
      all = Map.copyOf(peers);
    }
    for (Entry e : all.values()) {
      Peer p = e.current;
      if (p != null && !p.session().isClosed()) {
        p.session().close(ErrorCode.GOING_AWAY, "relay is shutting down");
      }
    }
  }

  private static String stripSlash(String u) {
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }
}
