package io.relaymesh.agent.tunnel;

import io.relaymesh.proxy.dial.DialException;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.wire.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one agent tunnel up: finds the relay ({@code relayUrl} supplier), dials
 * {@code <relay>/api/v1/tunnel/agent} with the agent token, and when the tunnel fails or ends
 * reconnects after a {@link Backoff} delay. Policy:
 *
 * <ul>
 *   <li>every failed attempt is logged with its reason and the delay before the next one;
 *   <li>a relay or the control plane answering 401/403 (token rejected) is retried after
 *       {@code max/2 .. max}, not
 *       given up: a token re-issued or a relay whose auth cache was wrong recovers by itself, and a
 *       revoked token costs one attempt per ~30 s;
 *   <li>GOAWAY from the relay (drain): a replacement tunnel is dialed at once (jitter within
 *       {@code reconnect-min}) while the old one finishes its streams;
 *   <li>the backoff resets once a tunnel has stayed up for {@link #STABLE_AFTER}.
 * </ul>
 *
 * <p>Threading: all state lives on one event-loop context ({@code context}); sessions are dialed
 * from it, so they and their streams live there too.
 */
public final class TunnelKeeper {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelKeeper.class);
  public static final Duration STABLE_AFTER = Duration.ofSeconds(60);
  public static final String TUNNEL_PATH = "/api/v1/tunnel/agent";
  /** How long {@link #stop()} lets open streams finish after GOAWAY. */
  public static final Duration STOP_GRACE = Duration.ofSeconds(2);

  private final Vertx vertx;
  private final Context context;
  private final TunnelDialer dialer;
  private final Supplier<Future<String>> relayUrl;
  private final String token;
  private final StreamAcceptor acceptor;
  private final Backoff backoff;

  private boolean stopped;
  private boolean dialing;
  private long timer = -1;
  private int tunnelIds;
  private DialedTunnel current;
  private final List<DialedTunnel> all = new ArrayList<>();
  private volatile String lastError;
  private volatile String connectedUrl;
  private final List<Promise<String>> waiters = new ArrayList<>();

  public TunnelKeeper(Vertx vertx, Context context, TunnelDialer dialer, Supplier<Future<String>> relayUrl,
      String token, StreamAcceptor acceptor, Backoff backoff) {
    this.vertx = vertx;
    this.context = context;
    this.dialer = dialer;
    this.relayUrl = relayUrl;
    this.token = token;
    this.acceptor = acceptor;
    this.backoff = backoff;
  }

  public void start() {
    context.runOnContext(v -> connect());
  }

  /** URL of the relay the live tunnel is connected to, or null. */
  public String connectedUrl() {
    return connectedUrl;
  }

  /** Why the last attempt failed or the last tunnel ended, or null. */
  public String lastError() {
    return lastError;
  }

  /** Completes with the relay URL once a tunnel is up (at once if one is). */
  public Future<String> whenConnected() {
    Promise<String> p = Promise.promise();
    context.runOnContext(v -> {
      if (current != null) {
        p.tryComplete(current.url());
      } else if (stopped) {
        p.tryFail("agent stopped");
      } else {
        waiters.add(p);
      }
    });
    return p.future();
  }

  private void connect() {
    timer = -1;
    if (stopped || dialing) {
      return;
    }
    dialing = true;
    int id = ++tunnelIds;
    String name = "tunnel-" + id;
    relayUrl.get().compose(base -> {
      String url = (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + TUNNEL_PATH;
      DialedTunnel[] self = new DialedTunnel[1];
      SessionMetrics goAwayWatch = new SessionMetrics() {
        @Override
        public void goAway(boolean sent, ErrorCode code) {
          if (!sent) {
            context.runOnContext(v -> onGoAway(name, self[0], code));
          }
        }
      };
      return dialer.dial(url, Map.of("Authorization", "Bearer " + token),
          s -> acceptor.handle(name, s), goAwayWatch).onSuccess(t -> self[0] = t);
    }).onComplete(ar -> {
      dialing = false;
      if (ar.failed()) {
        failed(ar.cause());
        return;
      }
      DialedTunnel t = ar.result();
      if (stopped) {
        t.session().close(ErrorCode.NO_ERROR, "agent stopping");
        return;
      }
      up(name, t);
    });
  }

  private void up(String name, DialedTunnel t) {
    long since = System.nanoTime();
    all.add(t);
    current = t;
    connectedUrl = t.url();
    LOG.info("{} up: relay {}{}", name, t.url(), t.proxied() ? " (through HTTPS_PROXY)" : "");
    waiters.forEach(w -> w.tryComplete(t.url()));
    waiters.clear();
    Session s = t.session();
    s.closeFuture().onComplete(ar -> context.runOnContext(v -> {
      all.remove(t);
      long livedMillis = (System.nanoTime() - since) / 1_000_000;
      Short status = t.webSocket().closeStatusCode();
      String why = status == null ? "connection lost"
          : "websocket closed " + status + (t.webSocket().closeReason() != null && !t.webSocket().closeReason().isEmpty()
              ? " " + t.webSocket().closeReason() : "");
      LOG.info("{} down: relay {} after {} ms ({})", name, t.url(), livedMillis, why);
      if (current != t) {
        return; // a drained tunnel that was already replaced
      }
      current = null;
      connectedUrl = null;
      lastError = "tunnel to " + t.url() + " closed: " + why;
      if (livedMillis >= STABLE_AFTER.toMillis()) {
        backoff.reset();
      }
      schedule(backoff.nextDelayMillis(), "tunnel closed");
    }));
  }

  private void onGoAway(String name, DialedTunnel t, ErrorCode code) {
    if (t == null || current != t || stopped) {
      return;
    }
    current = null;
    connectedUrl = null;
    long delay = backoff.goAwayDelayMillis();
    LOG.info("{}: relay {} is draining (GOAWAY {}): opening a new tunnel in {} ms, the old one finishes its streams",
        name, t.url(), code, delay);
    schedule(delay, null);
  }

  private void failed(Throwable cause) {
    if (stopped) {
      return;
    }
    long delay;
    String reason;
    if (cause instanceof DialException && (((DialException) cause).status() == 401
        || ((DialException) cause).status() == 403)) {
      DialException d = (DialException) cause;
      reason = "agent token rejected by relay " + d.url() + " (HTTP " + d.status()
          + (d.serverMessage() != null ? ": " + d.serverMessage() : "") + ")";
      delay = backoff.rejectedDelayMillis();
    } else if (cause instanceof TokenRejectedException) {
      reason = cause.getMessage();
      delay = backoff.rejectedDelayMillis();
    } else {
      reason = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      delay = backoff.nextDelayMillis();
    }
    lastError = reason;
    LOG.warn("tunnel attempt {} failed: {}; retrying in {} ms", backoff.failures(), reason, delay);
    schedule(delay, reason);
  }

  private void schedule(long delayMillis, String why) {
    if (stopped || timer >= 0) {
      return;
    }
    if (delayMillis <= 0) {
      timer = -1;
      context.runOnContext(v -> connect());
      return;
    }
    timer = vertx.setTimer(delayMillis, id -> context.runOnContext(v -> connect()));
  }

  /**
   * Stops reconnecting and closes every tunnel: GOAWAY, then streams still open after
   * {@link #STOP_GRACE} are reset.
   */
  public Future<Void> stop() {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      stopped = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      waiters.forEach(w -> w.tryFail("agent stopped"));
      waiters.clear();
      List<Future<Void>> closing = new ArrayList<>();
      for (DialedTunnel t : new ArrayList<>(all)) {
        // GOAWAY first: the relay stops routing new streams here and running ones may finish
        Session s = t.session();
        Future<Void> drained = s.goAway(ErrorCode.NO_ERROR, "agent stopping");
        long grace = vertx.setTimer(STOP_GRACE.toMillis(), id -> s.close(ErrorCode.NO_ERROR, "agent stopped"));
        closing.add(drained.onComplete(ar -> vertx.cancelTimer(grace)));
      }
      current = null;
      connectedUrl = null;
      Future.join(closing).onComplete(ar -> done.complete());
    });
    return done.future();
  }
}
