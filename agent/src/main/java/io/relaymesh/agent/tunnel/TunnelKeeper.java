package io.relaymesh.agent.tunnel;

import io.relaymesh.agent.AgentMetrics;
import io.relaymesh.proxy.dial.DialException;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.RelayRtt;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Keeps the agent's tunnels up: to {@link RelayPicker#count()} distinct relay replicas (one when
 * only one relay exists or {@code relay-url} is configured). A <em>reconcile</em> asks the relay
 * source for the candidates, lets the {@link RelayPicker} choose (latency with hysteresis when
 * there are more candidates than tunnels), dials {@code <relay>/api/v1/tunnel/agent} with the
 * agent token on every chosen replica not held yet and, once those are up, sends GOAWAY to held
 * tunnels that are no longer chosen (their streams finish first). Policy:
 *
 * <ul>
 *   <li>a reconcile runs at start, after a failure or a lost tunnel (after a {@link Backoff}
 *       delay), at once after GOAWAY (and again when the draining replica is no longer avoided),
 *       and every {@link #REMEASURE_EVERY} (jittered +-25 %); a failed reconcile while all wanted
 *       tunnels are up is logged and left to the next periodic one;
 *   <li>short of tunnels after one was lost, with no other replica to take its place (it was
 *       killed and the control plane no longer lists it): a reconcile after each {@link Backoff}
 *       delay until the tunnels are complete again, so that a restarted replica is used again
 *       within {@code reconnect-max}, not at the next periodic re-measurement. Once every listed
 *       replica is held (a region with one replica, or the lost one no longer listed) it looks
 *       again after {@code reconnect-max}, doubling up to the periodic re-measurement, then
 *       stops. These look-ups use a backoff of their own, so they do not raise the reconnect
 *       backoff's failure count;
 *   <li>every failed attempt is logged with its reason and the delay before the next one;
 *   <li>a relay or the control plane answering 401/403 (token rejected) is retried after
 *       {@code max/2 .. max}, not given up: a token re-issued or a relay whose auth cache was
 *       wrong recovers by itself, and a revoked token costs one attempt per ~30 s;
 *   <li>GOAWAY from a relay (drain): a replacement tunnel is dialed at once (jitter within
 *       {@code reconnect-min}) on another replica, while the old one finishes its streams; the
 *       draining replica is avoided for {@link #AVOID_DRAINING} unless it is the only one, or
 *       until the control plane stops listing it (it deregisters; listed again means it
 *       registered anew); while short of tunnels for that reason it looks again every
 *       {@link #SHORT_RECHECK} (jittered);
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
  /** How often the relays are measured again (and the tunnels moved, with hysteresis). */
  public static final Duration REMEASURE_EVERY = Duration.ofMinutes(5);
  /** How long a replica that sent GOAWAY is not dialed again (unless it is the only one). */
  public static final Duration AVOID_DRAINING = Duration.ofMinutes(2);
  /**
   * The longest the first steps of a reconcile (relay list, round trips) may take before it is
   * given up and counted as a failed attempt, unless {@link #reconcileLimit} sets another. Each
   * step has its own timeouts; this catches one that never completes, so that the agent never
   * waits silently for ever. The dials are not watched: each has its own overall timer.
   */
  public static final Duration RECONCILE_LIMIT = Duration.ofSeconds(45);
  /** How soon a keeper short of tunnels because of a draining replica looks again (jittered). */
  public static final Duration SHORT_RECHECK = Duration.ofSeconds(10);

  /**
   * How many times one reconcile dials a chosen replica whose tunnels keep landing on a replica
   * already held (replicas sharing one load-balanced URL); then it settles for fewer tunnels
   * until the next reconcile ({@link #SHORT_RECHECK}).
   */
  public static final int SAME_REPLICA_ATTEMPTS = 4;
  /** Longest replica identity taken from {@link DialedTunnel#REPLICA_HEADER}. */
  private static final int MAX_REPLICA_HEADER = 200;

  /**
   * A live tunnel that counts towards the wanted number (not draining).
   *
   * @param relay the replica reached (named by the relay's upgrade answer; else the one aimed at)
   * @param aimed the replica dialed, whose URL the tunnel went through
   */
  private record Held(RelayCandidate relay, RelayCandidate aimed, DialedTunnel tunnel, String name) {
  }

  private final Vertx vertx;
  private final Context context;
  private final TunnelDialer dialer;
  private final Supplier<Future<List<RelayCandidate>>> relays;
  private final RelayPicker picker;
  private final String token;
  private final StreamAcceptor acceptor;
  private final Backoff backoff;
  /**
   * Delays of the reconciles while {@link #shortAfterLoss}: a backoff of its own, so that these
   * look-ups do not raise {@link #backoff}'s failure count (the next genuine reconnect would
   * start at the maximum delay).
   */
  private final Backoff shortBackoff;
  private final Random random;
  private final Duration remeasureEvery;
  private final AgentMetrics metrics;

  private boolean stopped;
  private boolean reconciling;
  /** Which reconcile is current; one given up by {@link #RECONCILE_LIMIT} is ignored. */
  private int reconcileGen;
  /**
   * What the current reconcile waits for (named when it takes longer than the limit); null once
   * it dials, which is not watched.
   */
  private String stage;
  private Duration reconcileLimit = RECONCILE_LIMIT;
  private boolean again;
  /** Short of tunnels since one was lost: looking for replicas again with {@link #shortBackoff}. */
  private boolean shortAfterLoss;
  /**
   * Tunnels wanted after the last reconcile that listed the candidates: {@link RelayPicker#count()},
   * or fewer when fewer replicas were listed (a region with one replica).
   */
  private int wanted;
  /**
   * While {@link #shortAfterLoss} with every listed replica held: the next delay before looking
   * again (from {@code reconnect-max}, doubling up to {@code remeasureEvery}); 0 before the first.
   */
  private long lostRecheckMillis;
  /** A dial of this reconcile gave up after {@link #SAME_REPLICA_ATTEMPTS} landings on held replicas. */
  private boolean landedShort;
  private long timer = -1;
  private long timerDue;
  private long remeasureTimer = -1;
  private int tunnelIds;
  private final Map<String, Held> held = new LinkedHashMap<>();
  private final Set<String> dialing = new HashSet<>();
  private final Set<Long> catchUps = new HashSet<>();
  private final Map<String, Long> draining = new HashMap<>();
  private final List<DialedTunnel> all = new ArrayList<>();
  private final List<Promise<String>> waiters = new ArrayList<>();
  private volatile String lastError;
  private volatile List<String> connectedUrls = List.of();
  private volatile List<String> connectedReplicas = List.of();

  /**
   * @param relays the candidate replicas (looked up before every reconcile)
   * @param remeasureEvery period of the re-measurement (jittered +-25 %)
   * @param metrics tunnel gauges and reconnect counters
   */
  public TunnelKeeper(Vertx vertx, Context context, TunnelDialer dialer,
      Supplier<Future<List<RelayCandidate>>> relays, RelayPicker picker, String token, StreamAcceptor acceptor,
      Backoff backoff, Random random, Duration remeasureEvery, AgentMetrics metrics) {
    this.vertx = vertx;
    this.context = context;
    this.dialer = dialer;
    this.relays = relays;
    this.picker = picker;
    this.token = token;
    this.acceptor = acceptor;
    this.backoff = backoff;
    this.shortBackoff = backoff.copy();
    this.wanted = picker.count();
    this.random = random;
    this.remeasureEvery = remeasureEvery;
    this.metrics = metrics;
  }

  public void start() {
    context.runOnContext(v -> {
      reconcile();
      scheduleRemeasure();
    });
  }

  /** URL of a relay a live tunnel is connected to (the first chosen), or null. */
  public String connectedUrl() {
    List<String> urls = connectedUrls;
    return urls.isEmpty() ? null : urls.get(0);
  }

  /** Tunnel URLs of the relays connected to now (draining tunnels not counted). */
  public List<String> connectedUrls() {
    return connectedUrls;
  }

  /**
   * The replicas connected to now ({@code region/replica-id} as the relays named themselves, else
   * as the control plane listed them; the URL for a relay given by URL only), in the order of
   * {@link #connectedUrls()}.
   */
  public List<String> connectedReplicas() {
    return connectedReplicas;
  }

  /** Why the last attempt failed or the last tunnel ended, or null. */
  public String lastError() {
    return lastError;
  }

  /** Completes with a relay URL once a tunnel is up (at once if one is). */
  public Future<String> whenConnected() {
    Promise<String> p = Promise.promise();
    context.runOnContext(v -> {
      if (!held.isEmpty()) {
        p.tryComplete(held.values().iterator().next().tunnel().url());
      } else if (stopped) {
        p.tryFail("agent stopped");
      } else {
        waiters.add(p);
      }
    });
    return p.future();
  }

  private void reconcile() {
    if (stopped) {
      return;
    }
    if (reconciling) {
      again = true;
      return;
    }
    reconciling = true;
    landedShort = false;
    int gen = ++reconcileGen;
    stage = "asking for the relay list";
    long limit = vertx.setTimer(reconcileLimit.toMillis(),
        id -> context.runOnContext(v -> reconcileStuck(gen)));
    here(relays.get())
        .compose(candidates -> {
          if (gen != reconcileGen) {
            return Future.failedFuture("superseded"); // given up on: nothing more of it
          }
          wanted = Math.min(picker.count(), candidates.size());
          stage = "measuring the round trip to " + candidates.size() + " relays";
          return here(picker.pick(usable(candidates), currentKeys()));
        })
        .compose(picked -> {
          if (gen != reconcileGen) {
            return Future.failedFuture("superseded");
          }
          vertx.cancelTimer(limit); // each dial has its own overall timer
          stage = null; // not watched from here on (a limit timer that already fired: too late)
          report(picked);
          return dialMissing(picked.targets()).map(picked);
        })
        .onComplete(ar -> {
          vertx.cancelTimer(limit);
          if (gen != reconcileGen) {
            return; // given up on after RECONCILE_LIMIT; a newer reconcile runs or is due
          }
          reconciling = false;
          if (stopped) {
            return;
          }
          if (ar.failed()) {
            again = false;
            failed(ar.cause());
            return;
          }
          retireUnchosen(ar.result().targets());
          if (held.size() >= picker.count()) {
            shortAfterLoss = false;
          } else if (!draining.isEmpty() || landedShort) {
            // short of tunnels because a draining replica is avoided, or because the dials kept
            // landing on replicas already held (one load-balanced URL): look again soon, the
            // replica may come back (restarted), another may register, the balancer may spread
            schedule(SHORT_RECHECK.toMillis() / 2 + random.nextInt((int) SHORT_RECHECK.toMillis() / 2));
          } else if (shortAfterLoss) {
            // short of tunnels since one was lost and no other replica is listed (the lost one
            // was killed and the control plane dropped it): look again with the reconnect
            // backoff, so that a restarted replica is used again within reconnect-max, not at
            // the next periodic re-measurement minutes later
            if (held.size() < wanted) {
              schedule(shortBackoff.nextDelayMillis());
            } else {
              // every listed replica is held: one replica in the region (or scaled down), or
              // the lost one was killed and dropped from the listing and may come back after a
              // restart. Look again after reconnect-max, doubling up to the periodic
              // re-measurement, then stop: a restarted replica is found soon, a region of one
              // replica costs a handful of look-ups, not one per reconnect-max for ever
              if (lostRecheckMillis == 0) {
                lostRecheckMillis = shortBackoff.maxMillis();
              }
              schedule(lostRecheckMillis / 2 + (long) (random.nextDouble() * lostRecheckMillis / 2));
              lostRecheckMillis *= 2;
              if (lostRecheckMillis >= remeasureEvery.toMillis()) {
                shortAfterLoss = false;
              }
            }
          }
          if (again) {
            again = false;
            reconcile();
          }
        });
  }

  /**
   * How long the relay list and the round trips may take in all (default
   * {@link #RECONCILE_LIMIT}): more than their own timeouts together; before {@link #start()}.
   */
  public TunnelKeeper reconcileLimit(Duration limit) {
    this.reconcileLimit = limit;
    return this;
  }

  /** The reconcile {@code gen} is still listing or measuring after the limit: start over. */
  private void reconcileStuck(int gen) {
    if (stopped || !reconciling || gen != reconcileGen || stage == null) {
      return;
    }
    reconcileGen++; // its late completion is ignored
    reconciling = false;
    again = false;
    failed(new java.util.concurrent.TimeoutException("checking the relays did not finish within "
        + reconcileLimit.toMillis() + " ms (still " + stage + ")"));
  }

  /**
   * The candidates without replicas that recently sent GOAWAY, unless only those are left. A
   * replica stops being avoided when the control plane no longer lists it (a draining relay
   * deregisters): when it is listed again it has registered anew, e.g. after a restart.
   */
  private List<RelayCandidate> usable(List<RelayCandidate> candidates) {
    long now = System.nanoTime();
    draining.values().removeIf(until -> until - now < 0);
    Set<String> listed = candidates.stream().map(RelayCandidate::key).collect(Collectors.toSet());
    draining.keySet().removeIf(k -> !listed.contains(k));
    List<RelayCandidate> out = candidates.stream().filter(c -> !draining.containsKey(c.key())).toList();
    return out.isEmpty() ? candidates : out;
  }

  private Set<String> currentKeys() {
    Set<String> keys = new HashSet<>(held.keySet());
    keys.addAll(dialing);
    return keys;
  }

  private void report(RelayPicker.Picked picked) {
    if (stopped || picked.measured().isEmpty()) {
      return;
    }
    Match m = match(picked.targets());
    if (m.satisfied().size() == picked.targets().size() && m.standing().size() == held.size()) {
      return;
    }
    LOG.info("relays by round trip: {}; choosing {}",
        picked.measured().stream().map(r -> r.relay() + " " + r.describe()).collect(Collectors.joining(", ")),
        picked.targets().stream().map(RelayCandidate::toString).collect(Collectors.joining(", ")));
    picked.measured().stream().filter(r -> !r.reachable()).map(RelayRtt::error)
        .forEach(e -> LOG.info("unreachable: {}", e));
  }

  /**
   * Which targets the held tunnels stand for: a tunnel on the target replica itself, else (for a
   * target not held itself) a tunnel on another replica reached through the target's URL, e.g.
   * replicas behind one load balancer, or {@code relay-url} without a replica id. Each held tunnel
   * stands for one target at most, so two replicas sharing a URL need two tunnels on distinct
   * replicas.
   *
   * @param satisfied keys of the targets a held tunnel stands for
   * @param standing keys (replica reached) of the held tunnels standing for a target
   */
  private record Match(Set<String> satisfied, Set<String> standing) {
  }

  private Match match(List<RelayCandidate> targets) {
    Set<String> satisfied = new HashSet<>();
    Set<String> standing = new HashSet<>();
    for (RelayCandidate t : targets) {
      if (held.containsKey(t.key())) {
        satisfied.add(t.key());
        standing.add(t.key());
      }
    }
    for (RelayCandidate t : targets) {
      if (satisfied.contains(t.key())) {
        continue;
      }
      for (Map.Entry<String, Held> e : held.entrySet()) {
        if (!standing.contains(e.getKey()) && sameUrl(e.getValue().aimed().publicUrl(), t.publicUrl())) {
          satisfied.add(t.key());
          standing.add(e.getKey());
          break;
        }
      }
    }
    return new Match(satisfied, standing);
  }

  private static boolean sameUrl(String a, String b) {
    return stripSlash(a).equalsIgnoreCase(stripSlash(b));
  }

  private static String stripSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  /** Dials every target not held or being dialed; fails (after all finished) with the first failure. */
  private Future<Void> dialMissing(List<RelayCandidate> targets) {
    List<Future<Void>> dials = new ArrayList<>();
    Set<String> satisfied = match(targets).satisfied();
    for (RelayCandidate c : targets) {
      if (!satisfied.contains(c.key()) && !dialing.contains(c.key())) {
        dials.add(dial(c, 1));
      }
    }
    if (dials.isEmpty()) {
      return Future.succeededFuture();
    }
    return Future.join(dials).transform(ar -> {
      for (Future<Void> f : dials) {
        if (f.failed()) {
          return Future.failedFuture(f.cause());
        }
      }
      return Future.succeededFuture();
    });
  }

  /**
   * Dials {@code relay} (attempt {@code attempt} of this reconcile). A tunnel that landed on a
   * replica already held (the relay names itself in {@link DialedTunnel#REPLICA_HEADER}) is closed
   * at once with GOAWAY and dialed again, up to {@link #SAME_REPLICA_ATTEMPTS} times.
   */
  private Future<Void> dial(RelayCandidate relay, int attempt) {
    String key = relay.key();
    String name = "tunnel-" + (++tunnelIds);
    String url = stripSlash(relay.publicUrl()) + TUNNEL_PATH;
    DialedTunnel[] self = new DialedTunnel[1];
    SessionMetrics goAwayWatch = new SessionMetrics() {
      @Override
      public void goAway(boolean sent, ErrorCode code) {
        if (!sent) {
          context.runOnContext(v -> onGoAway(name, self[0], code));
        }
      }
    };
    dialing.add(key);
    states();
    return here(dialer.dial(url, Map.of("Authorization", "Bearer " + token), s -> acceptor.handle(name, s), goAwayWatch))
        .compose(t -> {
          self[0] = t;
          dialing.remove(key);
          states();
          if (stopped) {
            t.session().close(ErrorCode.NO_ERROR, "agent stopping");
            return Future.<Void>succeededFuture();
          }
          RelayCandidate reached = reached(relay, t);
          Held twin = held.get(reached.key());
          if (twin == null) {
            up(name, relay, reached, t);
            return Future.<Void>succeededFuture();
          }
          metrics.reconnect(AgentMetrics.RECONNECT_SAME_REPLICA);
          dropTwin(name, reached, t);
          if (attempt < SAME_REPLICA_ATTEMPTS) {
            tunnelLine(LOG.atInfo(), "tunnel landed on a replica already held; closed it, dialing again",
                name, reached, t).addKeyValue("aimed_at", relay.key()).addKeyValue("held_by", twin.name())
                .addKeyValue("attempt", attempt).addKeyValue("reason", "same-replica").log();
            return dial(relay, attempt + 1);
          }
          landedShort = true;
          tunnelLine(LOG.atWarn(), "tunnels keep landing on replicas already held (one load-balanced URL?);"
                  + " staying with fewer tunnels until the next check", name, reached, t)
              .addKeyValue("aimed_at", relay.key()).addKeyValue("held_by", twin.name())
              .addKeyValue("attempt", attempt).addKeyValue("reason", "same-replica")
              .addKeyValue("tunnels", held.size()).addKeyValue("wanted", picker.count()).log();
          return Future.<Void>succeededFuture();
        }, e -> {
          dialing.remove(key);
          states();
          return Future.failedFuture(e);
        });
  }

  /**
   * The replica {@code t} reached: the one named by the relay's {@link DialedTunnel#REPLICA_HEADER}
   * ({@code <region>/<replica-id>}, reached through {@code aimed}'s URL), else (a relay that does
   * not say) the one aimed at.
   */
  static RelayCandidate reached(RelayCandidate aimed, DialedTunnel t) {
    String said = t.replica();
    if (said == null || said.length() > MAX_REPLICA_HEADER) {
      return aimed;
    }
    int slash = said.indexOf('/');
    String region = slash > 0 ? said.substring(0, slash) : aimed.region();
    String replica = slash >= 0 ? said.substring(slash + 1) : said;
    if (replica.isBlank()) {
      return aimed;
    }
    if (replica.equals(aimed.replicaId()) && java.util.Objects.equals(region, aimed.region())) {
      return aimed;
    }
    return new RelayCandidate(region, replica, aimed.publicUrl());
  }

  /** Closes a tunnel that duplicates a held one: GOAWAY (no stream should be on it yet), closed after {@link #STOP_GRACE}. */
  private void dropTwin(String name, RelayCandidate reached, DialedTunnel t) {
    all.add(t);
    states();
    Session s = t.session();
    long grace = vertx.setTimer(STOP_GRACE.toMillis(), id -> s.close(ErrorCode.NO_ERROR, "duplicate tunnel"));
    s.goAway(ErrorCode.NO_ERROR, "agent already holds a tunnel to this replica");
    s.closeFuture().onComplete(ar -> context.runOnContext(v -> {
      vertx.cancelTimer(grace);
      all.remove(t);
      states();
    }));
  }

  private void up(String name, RelayCandidate aimed, RelayCandidate relay, DialedTunnel t) {
    long since = System.nanoTime();
    all.add(t);
    held.put(relay.key(), new Held(relay, aimed, t, name));
    published();
    LoggingEventBuilder line = tunnelLine(LOG.atInfo(), "tunnel up", name, relay, t).addKeyValue("proxied", t.proxied());
    if (relay != aimed) {
      line.addKeyValue("aimed_at", aimed.key());
    }
    line.log();
    waiters.forEach(w -> w.tryComplete(t.url()));
    waiters.clear();
    Session s = t.session();
    s.closeFuture().onComplete(ar -> context.runOnContext(v -> down(name, relay, t, since)));
  }

  private void down(String name, RelayCandidate relay, DialedTunnel t, long since) {
    String key = relay.key();
    all.remove(t);
    long livedMillis = (System.nanoTime() - since) / 1_000_000;
    Short status = t.webSocket().closeStatusCode();
    String why = status == null ? "connection lost"
        : "websocket closed " + status + (t.webSocket().closeReason() != null && !t.webSocket().closeReason().isEmpty()
            ? " " + t.webSocket().closeReason() : "");
    tunnelLine(LOG.atInfo(), "tunnel down", name, relay, t).addKeyValue("duration_ms", livedMillis)
        .addKeyValue("reason", why).log();
    Held h = held.get(key);
    if (h == null || h.tunnel() != t) {
      states();
      return; // drained or retired, already replaced
    }
    held.remove(key);
    published();
    if (stopped) {
      return;
    }
    metrics.reconnect(AgentMetrics.RECONNECT_CLOSED);
    shortAfterLoss = true;
    shortBackoff.reset();
    lostRecheckMillis = 0;
    lastError = "tunnel to " + t.url() + " closed: " + why;
    if (livedMillis >= STABLE_AFTER.toMillis()) {
      backoff.reset();
    }
    schedule(backoff.nextDelayMillis());
  }

  private void onGoAway(String name, DialedTunnel t, ErrorCode code) {
    Held h = t == null ? null : held.values().stream().filter(x -> x.tunnel() == t).findFirst().orElse(null);
    if (stopped || h == null) {
      return;
    }
    String key = h.relay().key();
    held.remove(key);
    published();
    metrics.reconnect(AgentMetrics.RECONNECT_GOAWAY);
    draining.put(key, System.nanoTime() + AVOID_DRAINING.toNanos());
    // once the replica is no longer avoided (e.g. restarted), look again: it may be wanted back
    long[] catchUp = new long[1];
    catchUp[0] = vertx.setTimer(AVOID_DRAINING.toMillis() + backoff.goAwayDelayMillis() + 1,
        id -> context.runOnContext(v -> {
          catchUps.remove(catchUp[0]);
          reconcile();
        }));
    catchUps.add(catchUp[0]);
    long delay = backoff.goAwayDelayMillis();
    tunnelLine(LOG.atInfo(), "tunnel draining: relay sent GOAWAY; the old tunnel finishes its streams",
        name, h.relay(), t).addKeyValue("reason", "goaway " + code).addKeyValue("redial_in_ms", delay).log();
    schedule(delay);
  }

  /** GOAWAY to held tunnels no longer chosen, once the chosen ones are all up. */
  private void retireUnchosen(List<RelayCandidate> targets) {
    Match m = match(targets);
    if (m.satisfied().size() < targets.stream().map(RelayCandidate::key).distinct().count()) {
      return;
    }
    Set<String> keep = m.standing();
    for (Held h : new ArrayList<>(held.values())) {
      if (!keep.contains(h.relay().key())) {
        held.remove(h.relay().key());
        metrics.reconnect(AgentMetrics.RECONNECT_REBALANCE);
        tunnelLine(LOG.atInfo(), "tunnel draining: moving to a nearer relay; its streams finish first",
            h.name(), h.relay(), h.tunnel()).addKeyValue("reason", "rebalance").log();
        h.tunnel().session().goAway(ErrorCode.NO_ERROR, "agent moves to a nearer relay");
      }
    }
    published();
  }

  private void failed(Throwable cause) {
    if (!held.isEmpty() && held.size() >= wanted) {
      // all wanted tunnels are up: a failed re-check (control plane away, a nearer relay not
      // answering) waits for the next periodic one instead of retrying in a loop
      lastError = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      LOG.warn("checking the relays again failed: {}; keeping the tunnels to {}", lastError, connectedUrls);
      return;
    }
    long delay;
    String reason;
    if (cause instanceof DialException d && (d.status() == 401 || d.status() == 403)) {
      reason = "agent token rejected by relay " + d.url() + " (HTTP " + d.status()
          + (d.serverMessage() != null ? ": " + d.serverMessage() : "") + ")";
      delay = backoff.rejectedDelayMillis();
      metrics.reconnect(AgentMetrics.RECONNECT_TOKEN_REJECTED);
    } else if (cause instanceof TokenRejectedException) {
      reason = cause.getMessage();
      delay = backoff.rejectedDelayMillis();
      metrics.reconnect(AgentMetrics.RECONNECT_TOKEN_REJECTED);
    } else {
      reason = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      delay = backoff.nextDelayMillis();
      metrics.reconnect(cause instanceof DialException ? AgentMetrics.RECONNECT_DIAL_FAILED
          : AgentMetrics.RECONNECT_DISCOVERY_FAILED);
    }
    lastError = reason;
    LOG.atWarn().setMessage("tunnel attempt failed").addKeyValue("attempt", backoff.failures())
        .addKeyValue("reason", reason).addKeyValue("retry_in_ms", delay).log();
    schedule(delay);
  }

  /** A reconcile after {@code delayMillis}; an already pending later one is brought forward. */
  private void schedule(long delayMillis) {
    if (stopped) {
      return;
    }
    long due = System.nanoTime() + delayMillis * 1_000_000;
    if (timer >= 0) {
      if (timerDue - due <= 0) {
        return;
      }
      vertx.cancelTimer(timer);
    }
    timerDue = due;
    timer = vertx.setTimer(Math.max(1, delayMillis), id -> context.runOnContext(v -> {
      if (timer == id) {
        timer = -1;
        reconcile();
      }
    }));
  }

  private void scheduleRemeasure() {
    if (stopped) {
      return;
    }
    long base = remeasureEvery.toMillis();
    long delay = Math.max(1, base * 3 / 4 + (long) (random.nextDouble() * base / 2));
    remeasureTimer = vertx.setTimer(delay, id -> context.runOnContext(v -> {
      remeasureTimer = -1;
      reconcile();
      scheduleRemeasure();
    }));
  }

  private void published() {
    List<String> urls = new ArrayList<>();
    List<String> replicas = new ArrayList<>();
    held.values().forEach(h -> {
      urls.add(h.tunnel().url());
      RelayCandidate r = h.relay();
      replicas.add(r.replicaId() == null ? r.publicUrl() : (r.region() != null ? r.region() + "/" : "") + r.replicaId());
    });
    connectedUrls = List.copyOf(urls);
    connectedReplicas = List.copyOf(replicas);
    states();
  }

  /** The common keys of a tunnel log line: {@code tunnel_id}, {@code relay}, {@code region}, {@code replica}. */
  private static LoggingEventBuilder tunnelLine(LoggingEventBuilder b, String message, String name,
      RelayCandidate relay, DialedTunnel t) {
    b.setMessage(message).addKeyValue("tunnel_id", name).addKeyValue("relay", t.url());
    if (relay.region() != null) {
      b.addKeyValue("region", relay.region());
    }
    if (relay.replicaId() != null) {
      b.addKeyValue("replica", relay.replicaId());
    }
    return b;
  }

  /** Publishes the tunnel gauges (held: connected; open but not held: draining). */
  private void states() {
    Map<String, Integer> byRegion = new HashMap<>();
    held.values().forEach(h -> byRegion.merge(AgentMetrics.regionLabel(h.relay().region()), 1, Integer::sum));
    metrics.tunnels(dialing.size(), held.size(), Math.max(0, all.size() - held.size()), byRegion);
  }

  /** {@code f}, completed on the keeper's context. */
  private <T> Future<T> here(Future<T> f) {
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> context.runOnContext(v -> p.handle(ar)));
    return p.future();
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
      if (remeasureTimer >= 0) {
        vertx.cancelTimer(remeasureTimer);
        remeasureTimer = -1;
      }
      catchUps.forEach(vertx::cancelTimer);
      catchUps.clear();
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
      held.clear();
      published();
      Future.join(closing).onComplete(ar -> done.complete());
    });
    return done.future();
  }
}
