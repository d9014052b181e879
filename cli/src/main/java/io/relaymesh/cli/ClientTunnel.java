package io.relaymesh.cli;

import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.dial.DialException;
import io.relaymesh.proxy.dial.DialOptions;
import io.relaymesh.proxy.dial.DialedTunnel;
import io.relaymesh.proxy.dial.ProxySettings;
import io.relaymesh.proxy.dial.RelayCandidate;
import io.relaymesh.proxy.dial.TrustSpec;
import io.relaymesh.proxy.dial.TunnelDialer;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The client side of a relay tunnel, shared by {@code ssh --stdio} and {@code port-forward}: asks
 * the control plane for a ticket, picks the relay among those holding the agent (the nearest,
 * {@link RelaySelection}; the pinned region's with {@code --region} or {@code cli.region}), dials
 * the relay's client endpoint and opens streams.
 */
final class ClientTunnel implements AutoCloseable {

  /** The relay's client tunnel endpoint (docs/api.md, tunnel contract). */
  static final String CLIENT_PATH = "/api/v1/tunnel/client";
  /** The CA / self-signed relay certificate the CLI trusts besides the system store. */
  static final String CA_FILE = "relay-ca.pem";
  static final Duration OPEN_TIMEOUT = Duration.ofSeconds(15);
  static final String NETTY_JFR = "io.netty.jfr.enabled";

  final Env env;
  final Vertx vertx;
  final ControlClient control;
  final WorkspaceRef ref;
  final String region;
  private final TunnelDialer dialer;
  private final RelaySelection selection;
  private volatile String choiceKey;
  private volatile List<RelayCandidate> candidates;
  private volatile String dialedRelayUrl;
  private final Credentials creds;
  /** The ticket cache ({@code ssh --stdio}); null: disabled. */
  private final TicketCache tickets;
  private volatile boolean ticketFromCache;
  private final int prefetchPort;
  private CompletableFuture<JsonObject> prefetched;

  /** @param region pinned region ({@code --region}); null: {@code cli.region}, else the nearest */
  ClientTunnel(Env env, WorkspaceRef ref, String region) {
    this(env, ref, region, -1);
  }

  /**
   * @param prefetchPort a port whose ticket {@link #reusableTicket} will be asked for: taken from
   *     the {@link TicketCache} or fetched from the control plane on another thread while Vert.x
   *     starts; -1: none (and no ticket cache)
   */
  ClientTunnel(Env env, WorkspaceRef ref, String region, int prefetchPort) {
    quietLogs();
    this.env = env;
    this.ref = ref;
    io.relaymesh.config.CliConfig cli = env.cliConfig();
    this.region = region != null ? region : cli.region();
    this.creds = Credentials.load(env);
    this.control = creds.client();
    this.prefetchPort = prefetchPort;
    this.tickets = prefetchPort >= 0 && TicketCache.enabled(env) ? new TicketCache(cli.configDir()) : null;
    if (prefetchPort >= 0) {
      CompletableFuture<JsonObject> f = new CompletableFuture<>();
      prefetched = f;
      Thread t = new Thread(() -> {
        try {
          f.complete(cachedOrFreshTicket(prefetchPort));
        } catch (Throwable e) {
          f.completeExceptionally(e);
        }
      }, "relaymesh-ticket");
      t.setDaemon(true);
      t.start();
    }
    StartupTrace.mark("control client");
    if (System.getProperty(NETTY_JFR) == null) {
      // Netty's buffer events would register with JFR at the first allocation: event classes
      // generated on the fly, a second of a short command's start on a small machine
      System.setProperty(NETTY_JFR, "false");
    }
    VertxOptions vertxOptions = new VertxOptions().setEventLoopPoolSize(1)
        .setWorkerPoolSize(2).setInternalBlockingPoolSize(2);
    // ssh --stdio carries one connection: Java NIO, sparing the start the native transport's
    // library (extracted from the jar to a temporary file and loaded on every start)
    this.vertx = prefetchPort >= 0 ? Vertx.vertx(vertxOptions) : Transports.create(vertxOptions);
    StartupTrace.mark("vertx");
    DialOptions options = dialOptions(env);
    this.dialer = TunnelDialer.create(vertx, options);
    StartupTrace.mark("dialer");
    this.selection = new RelaySelection(vertx, options, new RelayChoiceCache(cli.configDir()),
        cli.relayChoiceMaxAge(), Clock.systemUTC());
  }

  /**
   * Client commands print only warnings: their stderr is the user's terminal (and, for
   * {@code ssh --stdio}, ssh's), so start-up details such as the event-loop transport stay out.
   */
  static void quietLogs() {
    if (!io.relaymesh.telemetry.log.LogSetup.levelsGiven()
        && org.slf4j.LoggerFactory.getLogger("io.relaymesh") instanceof ch.qos.logback.classic.Logger l
        && !l.isDebugEnabled()) {
      l.setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  /** System trust, plus the relay certificate {@code relaymesh dev} / login stored, if any. */
  static DialOptions dialOptions(Env env) {
    DialOptions opts = DialOptions.defaults();
    Path file = trustFile(env);
    if (Files.isRegularFile(file)) {
      opts = opts.withTrust(TrustSpec.pemFile(file));
    }
    try {
      return opts.withProxy(ProxySettings.fromEnvironment(env.vars()));
    } catch (IllegalArgumentException e) {
      throw new CliException(e.getMessage());
    }
  }

  /** The extra trusted relay certificate: {@code RELAYMESH_CA_CERT}, else the config dir's. */
  static Path trustFile(Env env) {
    String ca = env.vars().get("RELAYMESH_CA_CERT");
    return ca != null && !ca.isEmpty() ? Path.of(ca) : env.configDir().resolve(CA_FILE);
  }

  /** A ticket for {@code port} of the workspace's agent (POST /api/v1/tickets). */
  JsonObject ticket(int port) {
    return ticket(port, ControlClient.ANSWER_TIMEOUT);
  }

  private JsonObject ticket(int port, Duration timeout) {
    JsonObject req = new JsonObject().put("workspace", ref.workspace())
        .put("agent", ref.agentOrDefault()).put("port", port);
    if (region != null) {
      req.put("region", region);
    }
    return control.call("POST", "/api/v1/tickets", req, timeout);
  }

  /**
   * How long a new ticket is waited for while the one in hand is still valid: a hung control
   * plane (it accepts, never answers) then delays a connection by this, not by
   * {@link ControlClient#ANSWER_TIMEOUT}, before the current ticket is used.
   */
  static final Duration TICKET_TIMEOUT_WITH_FALLBACK = Duration.ofSeconds(5);

  /**
   * The ticket answer for {@code port}: a cached one with time left ({@link TicketCache}), else a
   * fresh one (then cached). {@link #ticketFromCache} says which.
   */
  JsonObject reusableTicket(int port) {
    CompletableFuture<JsonObject> f = prefetched;
    if (f != null && port == prefetchPort) {
      prefetched = null;
      try {
        return f.join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof RuntimeException r) {
          throw r;
        }
        throw e;
      }
    }
    return cachedOrFreshTicket(port);
  }

  private JsonObject cachedOrFreshTicket(int port) {
    String key = ticketKey(port);
    if (tickets != null) {
      JsonObject cached = tickets.get(key, Instant.now());
      if (cached != null) {
        ticketFromCache = true;
        return cached;
      }
    }
    JsonObject stillValid = tickets == null ? null : tickets.get(key, Instant.now(), Duration.ZERO);
    JsonObject answer = freshOrStillValid(port, stillValid);
    ticketFromCache = answer == stillValid;
    if (tickets != null && !ticketFromCache) {
      tickets.put(key, answer, Instant.now());
    }
    return answer;
  }

  /** The ports whose outage warning was printed; cleared by the next fresh ticket. */
  private final java.util.Set<Integer> outageWarned = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A fresh ticket answer for {@code port}; when the control plane cannot be reached or answers
   * 5xx, {@code current} instead while it has not expired (relays check only the ticket's own
   * signature and expiry, so new connections keep working for the ticket's lifetime during an
   * outage), with one warning per outage on stderr naming the control plane and the time left,
   * never the ticket. A 4xx answer (revoked session, forbidden workspace) is thrown as is.
   *
   * @param current the ticket answer in use, or null
   */
  JsonObject freshOrStillValid(int port, JsonObject current) {
    JsonObject fresh;
    boolean fallback = current != null && remaining(current, Instant.now()).toSeconds() > 0;
    try {
      fresh = ticket(port, fallback ? TICKET_TIMEOUT_WITH_FALLBACK : ControlClient.ANSWER_TIMEOUT);
    } catch (CliException e) {
      // measured again: the request may have taken up to its timeout
      Duration left = fallback ? remaining(current, Instant.now()) : Duration.ZERO;
      if (!e.controlPlaneUnavailable() || left.isZero() || left.isNegative()) {
        throw e;
      }
      if (outageWarned.add(port)) {
        env.err().println("relaymesh: warning: no new ticket for port " + port + " from the control"
            + " plane at " + control.base() + " (" + e.getMessage() + "); using the current ticket,"
            + " valid for " + left.toSeconds() + "s more");
        env.err().flush();
      }
      return current;
    }
    outageWarned.remove(port);
    return fresh;
  }

  /** The time left before a ticket answer's {@code expiresAt} (zero if absent or damaged). */
  static Duration remaining(JsonObject answer, Instant now) {
    try {
      return Duration.between(now, Instant.parse(answer.getString("expiresAt")));
    } catch (RuntimeException e) {
      return Duration.ZERO;
    }
  }

  /** Whether the last {@link #reusableTicket} came from the ticket cache. */
  boolean ticketFromCache() {
    return ticketFromCache;
  }

  /** Drops the cached ticket for {@code port} (a dial with it failed). */
  void forgetTicket(int port) {
    if (tickets != null) {
      tickets.put(ticketKey(port), null, Instant.now());
    }
  }

  private String ticketKey(int port) {
    return TicketCache.key(control.base(), creds.username(), ref.workspace(), ref.agentOrDefault(),
        port, region);
  }

  /**
   * The public URL of the relay replica to use, from a ticket answer: the nearest
   * ({@link RelaySelection}) of every healthy replica ({@code allRelays}, of the pinned region),
   * since a replica that does not hold the agent forwards to one that does; the agent must be
   * connected to some relay ({@code relays}).
   */
  String relayUrl(JsonObject ticket) {
    List<RelayCandidate> holding = RelayCandidate.healthyReplicas(
        ticket.getJsonArray("relays", new JsonArray()), null);
    JsonArray everyone = ticket.getJsonArray("allRelays");
    List<RelayCandidate> candidates = (holding.isEmpty() || everyone == null ? holding
        : RelayCandidate.healthyReplicas(everyone, null))
        .stream().filter(c -> region == null || region.equals(c.region())).toList();
    if (!candidates.isEmpty()) {
      String key = RelaySelection.key(control.base(), ticket.getString("workspace", ref.workspace()),
          ticket.getString("agent", ref.agentOrDefault()), region);
      choiceKey = key;
      this.candidates = candidates;
      return selection.choose(key, candidates).publicUrl();
    }
    String who = "agent '" + ticket.getString("agent", ref.agentOrDefault()) + "' of workspace '"
        + ticket.getString("workspace", ref.workspace()) + "'";
    throw new CliException(holding.isEmpty()
        ? who + " is not connected to any relay (is its agent running?)"
        : "no healthy relay in region '" + region + "' to reach " + who);
  }

  /**
   * Dials the relay's client endpoint with {@code ticket}. When that relay cannot be reached or
   * refuses new tunnels (503: draining) and {@link #relayUrl} had other candidates, the nearest
   * of those is dialed instead (measured again; the choice is remembered).
   */
  DialedTunnel dial(String relayUrl, String ticket) {
    try {
      return dialOnce(relayUrl, ticket);
    } catch (CliException e) {
      List<RelayCandidate> all = candidates;
      String key = choiceKey;
      if (!(e.getCause() instanceof DialException d) || (d.status() != 0 && d.status() != 503)
          || all == null || key == null) {
        throw e;
      }
      List<RelayCandidate> others = all.stream()
          .filter(c -> !stripSlash(c.publicUrl()).equals(stripSlash(relayUrl))).toList();
      if (others.isEmpty()) {
        throw e;
      }
      candidates = others;
      return dial(selection.choose(key, others).publicUrl(), ticket);
    }
  }

  /** The public URL of the relay the last successful {@link #dial} reached. */
  String dialedRelayUrl() {
    return dialedRelayUrl;
  }

  private DialedTunnel dialOnce(String relayUrl, String ticket) {
    String url = stripSlash(relayUrl) + CLIENT_PATH;
    try {
      DialedTunnel t = await(dialer.dial(url, Map.of("Authorization", "Bearer " + ticket)), Duration.ofSeconds(30));
      dialedRelayUrl = relayUrl;
      return t;
    } catch (DialException e) {
      String key = choiceKey;
      if (key != null) {
        selection.forget(key); // measure again next time rather than reuse an unreachable relay
      }
      String hint = "";
      Path trust = trustFile(env);
      if (String.valueOf(e.getMessage()).contains("TLS handshake failed")
          && Files.isRegularFile(trust)) {
        hint = " (trusted: the system's CAs and " + trust + ", which `relaymesh dev` writes; if"
            + " it belongs to another relaymesh dev or relay, restart that one or delete the file)";
      }
      throw new CliException("cannot reach relay: " + e.getMessage() + hint, e);
    }
  }

  private static String stripSlash(String u) {
    return u.replaceAll("/+$", "");
  }

  /** Opens a stream on the session, turning a refusal into one clear line. */
  Stream open(Session session, int kind, String target, Buffer metadata, String what) {
    Promise<Stream> p = Promise.promise();
    session.context().runOnContext(v -> session.open(kind, target, metadata).onComplete(p));
    try {
      return await(p.future(), OPEN_TIMEOUT);
    } catch (StreamRefusedException e) {
      throw new CliException("cannot open " + what + " to " + ref + ": " + e.getMessage(), e);
    }
  }

  static <T> T await(Future<T> f, Duration timeout) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new CliException(c.getMessage() != null ? c.getMessage() : c.toString(), c);
    } catch (TimeoutException e) {
      throw new CliException("timed out after " + timeout.toSeconds() + "s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // exiting anyway
    }
  }
}
