package io.relaymesh.cli.e2e;

import static io.relaymesh.cli.e2e.MultiRegionNetnsE2ETest.daemon;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer.OrderAnnotation;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 9, faults of the control plane and its database. Real processes on loopback: PostgreSQL
 * ({@link CtlPostgres}, outside the control plane so it can be restarted), {@code relaymesh
 * server --postgres-url}, one {@code relaymesh relay}, {@code relaymesh agent}, and {@code
 * relaymesh port-forward} to an {@link EchoServer} on the agent's host.
 *
 * <ol>
 *   <li>The control plane is stopped (SIGTERM: the process is gone, connections to it are
 *       refused) for {@code -Drelaymesh.faults.outage} (default {@value #DEFAULT_OUTAGE}; the
 *       issue's 5 minutes: {@code PT5M}), then started again on the same port. Meanwhile an open
 *       connection keeps echoing, and new connections through the running port-forward work for
 *       as long as its last ticket is valid (ticket lifetime {@value #TICKET_TTL} plus the relay's
 *       30 s clock skew), then are closed at once with the reason on the port-forward's stderr.
 *       Measured: time until the control plane listens, the relay is healthy again, the
 *       port-forward opens connections again (by itself) and a new CLI command works.
 *       In the same window: a new SSH connection (OpenSSH, ProxyCommand {@code ssh --stdio})
 *       works on the ticket cached by an ssh just before the stop, and once that ticket has
 *       expired fails with one line naming the control plane, without hanging; the agent of a
 *       second workspace is killed and started again: it retries with backoff (it learns its
 *       relays from the control plane), has no tunnel meanwhile, and is back on its relay soon
 *       after the control plane (measured).
 *   <li>PostgreSQL is stopped under the running control plane for {@code -Drelaymesh.faults.pgDown}
 *       (default {@value #DEFAULT_PG_DOWN}) and started again: API requests in between are
 *       answered 503 {@code database_unavailable} without hanging, data connections keep working,
 *       and the API answers again within seconds of the database's return (measured).
 *   <li>The control plane hangs: SIGSTOP (its port still accepts, nothing answers) for {@code
 *       -Drelaymesh.faults.hang} (default {@value #DEFAULT_HANG}), then SIGCONT (always, in a
 *       finally): an open connection keeps echoing, new connections work (valid ticket), the
 *       relay's heartbeats fail with its 5 s timeout while its {@code /healthz} keeps answering
 *       (no event loop waits for the control plane), and everything works again right after
 *       SIGCONT (measured).
 * </ol>
 *
 * After each, every connection that echoed is in the connection log ({@code GET
 * /api/v1/connections}), none twice: records the relay could not deliver waited in its queue.
 *
 * <p>The 5-minute run: {@code mvn -B -o -pl cli -am verify -Dtest=ControlPlaneFaultsE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false -Drelaymesh.faults.outage=PT5M} (the surefire
 * configuration passes {@code relaymesh.*} system properties on).
 */
@Timeout(1500)
@TestMethodOrder(OrderAnnotation.class)
class ControlPlaneFaultsE2ETest {

  static final String DEFAULT_OUTAGE = "PT65S";
  static final String DEFAULT_HANG = "PT10S";
  static final String DEFAULT_PG_DOWN = "PT8S";
  static final Duration OUTAGE = Duration.parse(System.getProperty("relaymesh.faults.outage",
      DEFAULT_OUTAGE));
  static final Duration PG_DOWN = Duration.parse(System.getProperty("relaymesh.faults.pgDown",
      DEFAULT_PG_DOWN));
  static final Duration HANG = Duration.parse(System.getProperty("relaymesh.faults.hang",
      DEFAULT_HANG));
  /** Long enough for the ProxyCommand's JVM start after the stop, within the cached ticket. */
  static final String TICKET_TTL = "25s";
  /** The relay accepts a ticket this long after its expiry (TicketVerifier.DEFAULT_SKEW). */
  static final Duration SKEW = Duration.ofSeconds(30);
  static final String PASSWORD = "faults-test-admin-password";
  static final Pattern LISTENING =
      Pattern.compile("control plane listening on (http://127\\.0\\.0\\.1:(\\d+))");

  static Path tmp;
  static CtlPostgres pg;
  static Children cli;
  static volatile Child server;
  static Child relay;
  static Child agent;
  /** The agent of workspace "dev2", killed and started again during the outage. */
  static volatile Child agent2;
  static String agent2Token;
  static Child forward;
  static int relayPort;
  static EchoServer echo;
  static String controlUrl;
  static int controlPort;
  static int fwdPort;
  /** Connections through the port-forward that echoed what was sent: each must be logged. */
  static final AtomicInteger echoed = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    tmp = Files.createTempDirectory("relaymesh-ctlfaults-");
    pg = new CtlPostgres(tmp.resolve("pg"));
    Path bundle = tmp.resolve("relays-ca.pem");
    cli = new Children(tmp, tmp.resolve("config"), Map.of("RELAYMESH_CA_CERT", bundle.toString()));
    startServer(0);
    Result login = cli.run(Duration.ofSeconds(60),
        (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8),
        cli.cli("login", controlUrl, "-u", "admin", "--password-stdin"));
    assertThat(login.exit()).as("%s", login).isZero();

    Result created = cli.cliRun("relays", "create", "r1");
    assertThat(created.exit()).as("%s", created).isZero();
    String token = DevSshE2ETest.after(created.out(), "relay token (shown only once): ");
    relay = cli.withEnv(Map.of("RELAYMESH_RELAY_TOKEN", token,
        "RELAYMESH_RELAY_TLS_STATE_DIR", tmp.resolve("tls-r1").toString()))
        .start(daemon("relay", "--control-url", controlUrl, "--region", "r1",
            "--replica-id", "r1-a", "--listen", "127.0.0.1:0"), null);
    Pattern url = Pattern.compile("listening on https://127\\.0\\.0\\.1:(\\d+)");
    Children.await(Duration.ofSeconds(60), () -> "relay listening:\n" + relay,
        () -> url.matcher(relay.stdout()).find() || !relay.process().isAlive());
    Matcher rm = url.matcher(relay.stdout());
    assertThat(rm.find()).as("relay exited:\n%s", relay).isTrue();
    relayPort = Integer.parseInt(rm.group(1));
    Files.writeString(bundle, Files.readString(DevSshE2ETest.firstPem(tmp.resolve("tls-r1"))));
    Children.await(Duration.ofSeconds(60), () -> "a healthy relay: " + api().get("/api/v1/relays"),
        () -> api().healthyRegions().contains("r1"));

    Result ws = cli.cliRun("workspaces", "create", "dev");
    assertThat(ws.exit()).as("%s", ws).isZero();
    String agentToken = DevSshE2ETest.after(ws.out(), "agent token (shown only once): ");
    agent = cli.withEnv(Map.of("RELAYMESH_AGENT_TOKEN", agentToken)).start(daemon("agent",
        "--url", controlUrl, "--ca-cert", bundle.toString(),
        "--state-dir", tmp.resolve("agent").toString()), null);
    Children.await(Duration.ofSeconds(60), () -> "the agent on r1: " + api().get("/api/v1/workspaces")
        + "\nagent:\n" + agent, () -> api().agentRegions().contains("r1"));
    Result ws2 = cli.cliRun("workspaces", "create", "dev2");
    assertThat(ws2.exit()).as("%s", ws2).isZero();
    agent2Token = DevSshE2ETest.after(ws2.out(), "agent token (shown only once): ");
    agent2 = startAgent2();

    echo = new EchoServer();
    forward = cli.start(cli.cli("port-forward", "dev", "--tcp", "0:" + echo.port()), null);
    Pattern line = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) -> ");
    Children.await(Duration.ofSeconds(60), () -> "'forwarding' from\n" + forward,
        () -> line.matcher(forward.stdout()).find() || !forward.process().isAlive());
    Matcher m = line.matcher(forward.stdout());
    assertThat(m.find()).as("port-forward exited:\n%s", forward).isTrue();
    fwdPort = Integer.parseInt(m.group(1));
    // the port-forward dials its tunnel session at its first connection; that dial needs the
    // control plane when the ticket has less than a minute left (always, with 25 s tickets)
    assertThat(attempt("warm-up".getBytes(StandardCharsets.UTF_8), 30_000).ok())
        .as("a first connection through the port-forward:\n%s", forward).isTrue();
    Children.await(Duration.ofSeconds(60), () -> "the agent of dev2 on r1: "
        + api().get("/api/v1/workspaces") + "\nagent:\n" + agent2,
        () -> agentRegions("dev2").contains("r1"));
  }

  /**
   * The agent of "dev2", with {@code agent.reconnect-max} 5 s (default 30 s: its return after
   * the outage would take up to that long).
   */
  static Child startAgent2() {
    return cli.withEnv(Map.of("RELAYMESH_AGENT_TOKEN", agent2Token,
        "RELAYMESH_AGENT_RECONNECT_MAX", "5s")).start(daemon("agent", "--url", controlUrl,
        "--ca-cert", tmp.resolve("relays-ca.pem").toString(),
        "--state-dir", tmp.resolve("agent2").toString()), null);
  }

  /** Regions of the relays holding the tunnels of workspace {@code name}'s agent. */
  static java.util.Set<String> agentRegions(String name) {
    java.util.Set<String> out = new java.util.TreeSet<>();
    api().get("/api/v1/workspaces").getJsonArray("workspaces").forEach(o -> {
      JsonObject w = (JsonObject) o;
      if (name.equals(w.getString("name")) && !w.getJsonArray("agents").isEmpty()) {
        w.getJsonArray("agents").getJsonObject(0).getJsonArray("relays", new JsonArray())
            .forEach(r -> out.add(((JsonObject) r).getString("region")));
      }
    });
    return out;
  }

  /** Starts {@code relaymesh server} on {@code port} (0: any; the first start creates the admin). */
  static void startServer(int port) {
    List<String> args = new ArrayList<>(List.of("server", "--data-dir",
        tmp.resolve("data").toString(), "--postgres-url", pg.url(),
        "--listen", "127.0.0.1:" + port, "--no-builtin-relay", "--heartbeat-timeout", "6s",
        "--ticket-ttl", TICKET_TTL));
    if (port == 0) {
      args.addAll(List.of("--create-admin", "admin", "--password-stdin"));
    }
    Child s = cli.start(daemon(args.toArray(String[]::new)),
        port == 0 ? (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8) : null);
    server = s;
    Children.await(Duration.ofSeconds(90), () -> "the control plane listening:\n" + s,
        () -> LISTENING.matcher(s.stdout()).find() || !s.process().isAlive());
    Matcher m = LISTENING.matcher(s.stdout());
    assertThat(m.find()).as("control plane exited:\n%s", s).isTrue();
    controlUrl = m.group(1);
    controlPort = Integer.parseInt(m.group(2));
  }

  @AfterAll
  static void stop() throws Exception {
    if (echo != null) {
      echo.close();
    }
    if (cli != null) {
      Child[] all = {forward, agent, agent2, relay, server};
      for (Child c : all) { // SIGTERM to all first: they shut down at the same time
        if (c != null) {
          c.process().destroy();
        }
      }
      for (Child c : all) {
        if (c != null) {
          Children.stop(c.process(), Duration.ofSeconds(20));
        }
      }
      cli.close();
    }
    if (pg != null) {
      pg.close();
    }
    if (tmp != null && cli != null) {
      Children.await(Duration.ofSeconds(15), () -> "no process left using " + tmp + ": "
          + Children.processesMentioning(tmp.toString()),
          () -> Children.processesMentioning(tmp.toString()).isEmpty());
    }
    if (tmp != null && !Boolean.getBoolean("relaymesh.e2e.keep")) {
      try (java.util.stream.Stream<Path> files = Files.walk(tmp)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** One new connection through the port-forward, its outcome and how long it took. */
  record Attempt(long atNanos, boolean ok, long tookMs) {
    long msAfter(long nanos) {
      return (atNanos - nanos) / 1_000_000;
    }
  }

  @Test
  @Order(1)
  void controlPlaneDownExistingAndTicketedConnectionsWorkAndEverythingRecovers() throws Exception {
    // before the fault: a "file" of 1 MiB through a new connection, byte-exact
    byte[] file = new byte[1 << 20];
    new Random(9).nextBytes(file);
    assertThat(attempt(file, 30_000).ok()).as("1 MiB echoed before the outage").isTrue();
    try (Socket held = new Socket(InetAddress.getLoopbackAddress(), fwdPort)) {
      held.setSoTimeout(10_000);
      assertThat(roundTrip(held, "held-before")).isTrue();
      echoed.incrementAndGet(); // logged when it closes, after the outage

      // an SSH connection before the outage: its ticket (25 s) is cached in tickets.json
      Ssh pre = ssh("pre-outage");
      assertThat(pre.result().exit()).as("ssh before the outage: %s", pre.result()).isZero();
      assertThat(pre.result().out()).contains("pre-outage");
      Instant sshTicketExpires = cachedTicketExpiry();

      long ticketLeftAtStopMs = Duration.between(Instant.now(), sshTicketExpires).toMillis();
      long stopAt = System.nanoTime();
      Children.stop(server.process(), Duration.ofSeconds(30)); // SIGTERM; the process exits
      long downAt = System.nanoTime();
      // a new SSH connection while the cached ticket is valid (OpenSSH, ProxyCommand ssh --stdio)
      CompletableFuture<Ssh> sshValid = CompletableFuture.supplyAsync(() -> ssh("during-valid"));
      CompletableFuture<Ssh> sshExpired = null;
      // the agent of dev2 is killed and started again while the control plane is down
      agent2.process().destroyForcibly();
      assertThat(agent2.process().waitFor(30, TimeUnit.SECONDS)).as("agent2 killed").isTrue();
      agent2 = startAgent2();
      long agent2StartAt = System.nanoTime();
      Probes probes = new Probes(held, "during");
      while (System.nanoTime() - downAt < OUTAGE.toNanos()) {
        if (sshExpired == null && Instant.now().isAfter(sshTicketExpires.plusSeconds(1))) {
          sshExpired = CompletableFuture.supplyAsync(() -> ssh("after-expiry"));
        }
        probes.second(() -> { });
      }
      List<Attempt> attempts = probes.attempts;
      int heldOk = probes.heldOk;
      int heldFailed = probes.heldFailed;
      String pfErr = forward.stderr();
      String why = pfErr.lines().filter(l -> l.contains("expired")).findFirst().orElse("-");
      // both SSH attempts end while the control plane is still down
      assertThat(sshExpired).as("the outage outlasts the cached ticket (%s)", sshTicketExpires)
          .isNotNull();
      Ssh valid = sshValid.get(120, TimeUnit.SECONDS);
      Ssh expired = sshExpired.get(120, TimeUnit.SECONDS);
      String agent2During = agent2.stdout() + agent2.stderr();
      boolean agent2AliveDuring = agent2.process().isAlive();

      long restartAt = System.nanoTime();
      startServer(controlPort);
      long listeningAt = System.nanoTime();
      Children.await(Duration.ofSeconds(60), () -> "the relay healthy again: "
          + api().get("/api/v1/relays") + "\nrelay:\n" + relay,
          () -> api().healthyRegions().contains("r1"));
      long relayAt = System.nanoTime();
      Children.await(Duration.ofSeconds(90), () -> "the restarted agent of dev2 back on r1: "
          + api().get("/api/v1/workspaces") + "\nagent2:\n" + agent2,
          () -> agentRegions("dev2").contains("r1"));
      long agent2At = System.nanoTime();
      long fwdAt = -1;
      for (int i = 0; i < 120 && fwdAt < 0; i++) {
        if (attempt(("after-" + i).getBytes(StandardCharsets.UTF_8), 10_000).ok()) {
          fwdAt = System.nanoTime();
        } else {
          Thread.sleep(500);
        }
      }
      Result cmd = cli.cliRun("workspaces", "list");
      long cliAt = System.nanoTime();
      assertThat(cmd.exit()).as("a new CLI command after the restart: %s", cmd).isZero();
      boolean agentHeld = api().agentRegions().contains("r1");
      assertThat(roundTrip(held, "held-after")).as("the held connection after the outage").isTrue();

      // what users saw during the outage
      List<Attempt> failed = attempts.stream().filter(a -> !a.ok()).toList();
      List<Attempt> ok = attempts.stream().filter(Attempt::ok).toList();
      long stopToDown = (downAt - stopAt) / 1_000_000;
      long lastOk = ok.isEmpty() ? -1 : ok.get(ok.size() - 1).msAfter(stopAt);
      System.out.printf("ctl-faults control plane down (SIGTERM, exited after %d ms) for %ds:"
          + " held connection %d/%d echoes ok; %d new connections: %d ok (last %d ms after the"
          + " stop), %d refused (first at %s ms, each refused within %d ms);"
          + " after the restart: listening %.1f s, relay healthy %.1f s, port-forward opens"
          + " again %.1f s, `relaymesh workspaces list` done %.1f s (incl. its JVM start);"
          + " agent still on r1: %s; port-forward said: %s%n",
          stopToDown, OUTAGE.toSeconds(), heldOk, heldOk + heldFailed, attempts.size(), ok.size(),
          lastOk, failed.size(), failed.isEmpty() ? "-" : String.valueOf(failed.get(0).msAfter(stopAt)),
          failed.stream().mapToLong(Attempt::tookMs).max().orElse(0),
          (listeningAt - restartAt) / 1e9, (relayAt - restartAt) / 1e9,
          fwdAt < 0 ? -1 : (fwdAt - restartAt) / 1e9, (cliAt - restartAt) / 1e9, agentHeld, why);
      String expiredLine = lastLine(expired.result().err(), "relaymesh:");
      List<String> agent2Fails = agent2During.lines()
          .filter(l -> l.contains("tunnel attempt failed")).toList();
      System.out.printf("ctl-faults ssh during the outage: cached ticket valid until %.1f s after"
          + " the stop; ssh started %.1f s after the stop: exit %d in %.1f s (\"%s\");"
          + " ssh started %.1f s after the stop (ticket expired): exit %d in %.1f s (\"%s\")%n",
          ticketLeftAtStopMs / 1e3,
          (valid.atNanos() - stopAt) / 1e9, valid.result().exit(), valid.tookMs() / 1e3,
          lastLine(valid.result().err(), "relaymesh: warning"),
          (expired.atNanos() - stopAt) / 1e9, expired.result().exit(), expired.tookMs() / 1e3,
          expiredLine);
      System.out.printf("ctl-faults agent of dev2 killed and started again %.1f s after the stop:"
          + " %d failed attempts while the control plane was down (delays %s ms; first: %s);"
          + " on r1 again %.1f s after the control plane's restart (%.1f s after it listened)%n",
          (agent2StartAt - stopAt) / 1e9, agent2Fails.size(),
          agent2Fails.stream().map(l -> field(l, "retry_in_ms")).toList(),
          agent2Fails.isEmpty() ? "-" : field(agent2Fails.get(0), "reason"),
          (agent2At - restartAt) / 1e9, (agent2At - listeningAt) / 1e9);

      // ssh: works on the cached ticket, says so once; then a clear error, no hang
      assertThat(valid.result().exit()).as("ssh with a valid cached ticket during the outage: %s",
          valid.result()).isZero();
      assertThat(valid.result().out()).contains("during-valid");
      assertThat(valid.result().err()).as("ssh warns that it uses the cached ticket")
          .contains("using the current ticket");
      assertThat(expired.result().exit()).as("ssh after the ticket expired: %s", expired.result())
          .isNotZero();
      assertThat(expired.result().out()).doesNotContain("after-expiry");
      assertThat(expired.result().err()).as("ssh says why")
          .contains("cannot reach the control plane at " + controlUrl)
          .doesNotContain("Exception");
      // the restarted agent: retries (with backoff) while the control plane is down, no tunnel
      assertThat(agent2AliveDuring).as("agent2 keeps running during the outage:\n%s", agent2)
          .isTrue();
      assertThat(agent2Fails).as("agent2's failed attempts during the outage:\n%s", agent2During)
          .hasSizeGreaterThan(1)
          .allMatch(l -> l.contains("cannot reach the control plane"));
      assertThat(agent2During).as("no tunnel without the control plane").doesNotContain("tunnel up");

      assertThat(heldFailed).as("echoes on the connection opened before the outage").isZero();
      assertThat(attempts.get(0).ok()).as("a new connection right after the stop (valid ticket)")
          .isTrue();
      int firstFail = attempts.indexOf(failed.isEmpty() ? null : failed.get(0));
      if (firstFail >= 0) {
        assertThat(attempts.subList(firstFail, attempts.size())).as("once the ticket expired, "
            + "no new connection is let in").allMatch(a -> !a.ok());
        assertThat(failed).as("refusals are immediate, no hang").allMatch(a -> a.tookMs() < 5_000);
        assertThat(pfErr).as("port-forward says why").contains("expired");
      }
      // a ticket is at most 10 s old at the stop; the relay allows it for 10 s + 30 s skew
      assertThat(lastOk).as("no new connection past the ticket's lifetime, ms after the stop")
          .isLessThan(Duration.parse("PT" + TICKET_TTL).plus(SKEW).toMillis() + 3_000);
      if (OUTAGE.compareTo(Duration.parse("PT" + TICKET_TTL).plus(SKEW).plusSeconds(5)) >= 0) {
        assertThat(failed).as("the ticket expired during the outage").isNotEmpty();
      }
      assertThat(fwdAt).as("the running port-forward opens connections again").isPositive();
      assertThat(agentHeld).as("the agent kept its tunnel").isTrue();
      assertThat((relayAt - restartAt) / 1_000_000).as("relay healthy again, ms").isLessThan(60_000);
    }
    assertEveryEchoedConnectionLogged("after the control-plane outage");
  }

  @Test
  @Order(2)
  void postgresRestartIsA503WindowAndNothingIsLost() throws Exception {
    assertThat(status("/api/v1/workspaces").status()).isEqualTo(200);
    long stopAt = System.nanoTime();
    pg.stop();
    long downAt = System.nanoTime();
    List<Answer> answers = new ArrayList<>();
    List<Attempt> attempts = new ArrayList<>();
    while (System.nanoTime() - downAt < PG_DOWN.toNanos()) {
      answers.add(status("/api/v1/workspaces"));
      attempts.add(attempt("pg-down".getBytes(StandardCharsets.UTF_8), 10_000));
      Thread.sleep(500);
    }
    long startAt = System.nanoTime();
    pg.start();
    long upAt = System.nanoTime();
    Answer last = null;
    long okAt = -1;
    for (int i = 0; i < 300 && okAt < 0; i++) {
      last = status("/api/v1/workspaces");
      if (last.status() == 200) {
        okAt = System.nanoTime();
      } else {
        Thread.sleep(100);
      }
    }
    System.out.printf("ctl-faults PostgreSQL stopped for %.1f s (stop took %d ms, start %d ms):"
        + " %d API answers meanwhile %s (slowest %d ms); %d/%d new data connections ok;"
        + " API answers 200 again %.2f s after PostgreSQL was back (error window %.1f s)%n",
        (startAt - downAt) / 1e9, (downAt - stopAt) / 1_000_000, (upAt - startAt) / 1_000_000,
        answers.size(), answers.stream().map(a -> a.status() + " " + a.code()).distinct().toList(),
        answers.stream().mapToLong(Answer::tookMs).max().orElse(0),
        attempts.stream().filter(Attempt::ok).count(), attempts.size(),
        okAt < 0 ? -1 : (okAt - upAt) / 1e9, okAt < 0 ? -1 : (okAt - stopAt) / 1e9);

    assertThat(answers).as("API answers while PostgreSQL is down").isNotEmpty()
        .allMatch(a -> a.status() == 503 && "database_unavailable".equals(a.code()),
            "503 database_unavailable")
        .allMatch(a -> a.tookMs() < 12_000, "answered within 12 s");
    assertThat(attempts).as("data connections while PostgreSQL is down").allMatch(Attempt::ok);
    assertThat(okAt).as("the API works again after PostgreSQL's return; last: %s", last)
        .isPositive();
    assertThat((okAt - upAt) / 1_000_000).as("API back after PostgreSQL, ms").isLessThan(15_000);
    assertThat(relay.process().isAlive() && server.process().isAlive()).isTrue();
    assertEveryEchoedConnectionLogged("after the PostgreSQL restart");
  }

  /** A finished {@code ssh relaymesh.dev -- echo <marker>}: when it started, how long it took. */
  record Ssh(Result result, long atNanos, long tookMs) { }

  /**
   * {@code ssh relaymesh.dev -- echo marker}: the OpenSSH client with ProxyCommand {@code
   * relaymesh ssh --stdio %h}, as {@code relaymesh config-ssh} sets it up (what {@code relaymesh
   * ssh} runs, without its own JVM start in front).
   */
  static Ssh ssh(String marker) {
    long t0 = System.nanoTime();
    Result r = cli.run(Duration.ofSeconds(90), List.of("ssh", "-o", "ProxyCommand=" + cli.self
        + " ssh --stdio %h", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "relaymesh.dev", "--", "echo", marker));
    return new Ssh(r, t0, (System.nanoTime() - t0) / 1_000_000);
  }

  /** The expiry of the one ticket in the CLI's ticket cache (that of the last ssh). */
  static Instant cachedTicketExpiry() throws IOException {
    JsonObject all = new JsonObject(Files.readString(cli.configDir.resolve("tickets.json")));
    assertThat(all.size()).as("cached tickets: %s", all.fieldNames()).isEqualTo(1);
    return Instant.parse(all.getJsonObject(all.fieldNames().iterator().next())
        .getString("expiresAt"));
  }

  /** The last line of {@code text} starting with {@code prefix}, else its last line. */
  static String lastLine(String text, String prefix) {
    List<String> lines = text.strip().lines().toList();
    return lines.stream().filter(l -> l.startsWith(prefix)).reduce((a, b) -> b)
        .orElse(lines.isEmpty() ? "" : lines.get(lines.size() - 1));
  }

  /** The value of logfmt field {@code key} in {@code line} (quoted or not), or "?". */
  static String field(String line, String key) {
    Matcher m = Pattern.compile("\\b" + key + "=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)").matcher(line);
    return m.find() ? m.group(1) : "?";
  }

  @Test
  @Order(3)
  void hungControlPlaneIsAnOutageWithoutBlockingTheRelay() throws Exception {
    assertThat(attempt("before-hang".getBytes(StandardCharsets.UTF_8), 30_000).ok()).isTrue();
    Children.await(Duration.ofSeconds(60), () -> "the relay healthy: " + api().get(
        "/api/v1/relays"), () -> api().healthyRegions().contains("r1"));
    long pid = server.process().pid();
    int relayLogFrom = relay.stderr().length();
    try (Socket held = new Socket(InetAddress.getLoopbackAddress(), fwdPort)) {
      held.setSoTimeout(10_000);
      assertThat(roundTrip(held, "held-before-hang")).isTrue();
      echoed.incrementAndGet();
      Probes probes = new Probes(held, "hang");
      List<Long> healthMs = new ArrayList<>();
      List<Integer> healthStatus = new ArrayList<>();
      Answer apiDuring;
      long stoppedAt;
      long contAt;
      signal("STOP", pid);
      try {
        stoppedAt = System.nanoTime();
        // the control plane's port still accepts (the kernel's backlog) but nothing answers
        apiDuring = status("/api/v1/workspaces", Duration.ofSeconds(3));
        while (System.nanoTime() - stoppedAt < HANG.toNanos()) {
          probes.second(() -> {
            long h0 = System.nanoTime();
            healthStatus.add(relayHealthz());
            healthMs.add((System.nanoTime() - h0) / 1_000_000);
          });
        }
      } finally {
        signal("CONT", pid);
        contAt = System.nanoTime();
      }
      List<Attempt> attempts = probes.attempts;
      int heldOk = probes.heldOk;
      int heldFailed = probes.heldFailed;
      String relayLog = relay.stderr().substring(relayLogFrom);
      List<String> timeouts = relayLog.lines().filter(l -> l.contains("heartbeat failed")).toList();
      assertThat(timeouts).as("the relay's heartbeats time out (5 s) during the hang:\n%s",
          relayLog.lines().filter(l -> l.contains("relay:")).toList()).isNotEmpty().allMatch(l -> l.contains("timeout") || l.contains("no answer"));
      // recovery: the API, the relay's heartbeats, new connections, a new CLI command
      long apiAt = -1;
      for (int i = 0; i < 300 && apiAt < 0; i++) {
        if (status("/api/v1/workspaces").status() == 200) {
          apiAt = System.nanoTime();
        } else {
          Thread.sleep(100);
        }
      }
      Children.await(Duration.ofSeconds(60), () -> "the relay's heartbeats working again:\n"
          + relay.stderr().substring(relayLogFrom),
          () -> relay.stderr().substring(relayLogFrom).contains("heartbeats to "));
      long heartbeatAt = System.nanoTime();
      Attempt after = attempt("after-hang".getBytes(StandardCharsets.UTF_8), 30_000);
      Result cmd = cli.cliRun("workspaces", "list");
      long cliAt = System.nanoTime();
      System.out.printf("ctl-faults control plane hung (SIGSTOP) for %.1f s: API request meanwhile"
          + " %s after %d ms; held connection %d/%d echoes ok; %d/%d new connections ok (slowest"
          + " %d ms); relay /healthz %s, slowest %d ms; relay heartbeat failures: %s;"
          + " after SIGCONT: API answers %.2f s, relay heartbeats work %.1f s, new connection %s,"
          + " `relaymesh workspaces list` done %.1f s (incl. its JVM start)%n",
          (contAt - stoppedAt) / 1e9, apiDuring.status() + " " + apiDuring.code(),
          apiDuring.tookMs(), heldOk, heldOk + heldFailed,
          attempts.stream().filter(Attempt::ok).count(), attempts.size(),
          attempts.stream().mapToLong(Attempt::tookMs).max().orElse(0),
          healthStatus.stream().distinct().toList(),
          healthMs.stream().mapToLong(Long::longValue).max().orElse(0),
          timeouts.stream().map(l -> field(l, "kv_error")).toList(),
          apiAt < 0 ? -1 : (apiAt - contAt) / 1e9, (heartbeatAt - contAt) / 1e9, after.ok(),
          (cliAt - contAt) / 1e9);

      assertThat(apiDuring.status()).as("the hung control plane answers nothing").isZero();
      assertThat(heldFailed).as("echoes on the connection opened before the hang").isZero();
      assertThat(attempts).as("new connections during the hang (valid ticket)").isNotEmpty()
          .allMatch(Attempt::ok);
      assertThat(healthStatus).as("relay /healthz during the hang (4 s limit each)")
          .isNotEmpty().allMatch(c -> c == 200);
      assertThat(apiAt).as("the API answers after SIGCONT").isPositive();
      assertThat(after.ok()).as("a new connection after the hang").isTrue();
      assertThat(cmd.exit()).as("a CLI command after the hang: %s", cmd).isZero();
      assertThat(roundTrip(held, "held-after-hang")).isTrue();
      assertThat(api().healthyRegions()).contains("r1");
      assertThat(relay.process().isAlive() && server.process().isAlive()).isTrue();
    }
    assertEveryEchoedConnectionLogged("after the hung control plane");
  }

  /**
   * Probes once a second while a fault lasts: a new connection through the port-forward and an
   * echo on a connection opened before, each tallied.
   */
  static final class Probes {
    final Socket held;
    final String tag;
    final List<Attempt> attempts = new ArrayList<>();
    int heldOk;
    int heldFailed;

    Probes(Socket held, String tag) {
      this.held = held;
      this.tag = tag;
    }

    /** One probe, then {@code more}, then sleeps out the rest of the second. */
    void second(Runnable more) throws InterruptedException {
      long t = System.nanoTime();
      attempts.add(attempt((tag + "-" + attempts.size()).getBytes(StandardCharsets.UTF_8),
          10_000));
      if (roundTrip(held, "held-" + tag + "-" + attempts.size())) {
        heldOk++;
      } else {
        heldFailed++;
      }
      more.run();
      long rest = 1_000 - (System.nanoTime() - t) / 1_000_000;
      if (rest > 0) {
        Thread.sleep(rest);
      }
    }
  }

  /** {@code kill -SIG pid}. */
  static void signal(String sig, long pid) throws Exception {
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
    assertThat(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0).as("kill -%s %d", sig, pid)
        .isTrue();
  }

  /** The relay's {@code GET /healthz} status (0: no answer within 4 s). */
  static int relayHealthz() {
    try {
      Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
          "--max-time", "4", "--cacert", tmp.resolve("relays-ca.pem").toString(),
          "https://127.0.0.1:" + relayPort + "/healthz").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      return out.matches("\\d{3}") ? Integer.parseInt(out) : 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Waits until the connection log holds exactly one record per echoed connection. */
  static void assertEveryEchoedConnectionLogged(String when) {
    int expected = echoed.get();
    long t0 = System.nanoTime();
    Children.await(Duration.ofSeconds(90), () -> when + ": " + expected + " records of echoed"
        + " connections, have " + logged() + "\nrelay:\n" + relay.stderr(),
        () -> logged() >= expected);
    System.out.printf("ctl-faults %s: all %d echoed connections in the connection log (%.1f s"
        + " after asking)%n", when, expected, (System.nanoTime() - t0) / 1e9);
    assertThat(logged()).as("records of echoed connections, none twice").isEqualTo(expected);
  }

  /** Records of connections to the echo server that carried bytes both ways. */
  static int logged() {
    int n = 0;
    Long before = null;
    for (int page = 0; page < 20; page++) {
      JsonArray a = api().get("/api/v1/connections?limit=500"
          + (before == null ? "" : "&before=" + before)).getJsonArray("connections");
      for (Object o : a) {
        JsonObject c = (JsonObject) o;
        before = c.getLong("id");
        if (Integer.valueOf(echo.port()).equals(c.getInteger("port"))
            && c.getLong("bytesIn", 0L) > 0 && c.getLong("bytesOut", 0L) > 0) {
          n++;
        }
      }
      if (a.size() < 500) {
        break;
      }
    }
    return n;
  }

  /** A new connection through the port-forward that echoes {@code data} (counted when it does). */
  static Attempt attempt(byte[] data, int timeoutMs) {
    long t0 = System.nanoTime();
    boolean ok;
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), fwdPort)) {
      s.setSoTimeout(timeoutMs);
      ok = echoes(s, data);
    } catch (IOException e) {
      ok = false;
    }
    if (ok) {
      echoed.incrementAndGet();
    }
    return new Attempt(t0, ok, (System.nanoTime() - t0) / 1_000_000);
  }

  /** Whether {@code held} echoes {@code text} (the connection stays open). */
  static boolean roundTrip(Socket held, String text) {
    try {
      return echoes(held, text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean echoes(Socket s, byte[] data) throws IOException {
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    out.write(data);
    out.flush();
    byte[] back = new byte[data.length];
    int n = 0;
    while (n < back.length) {
      int r = in.read(back, n, back.length - n);
      if (r < 0) {
        return false;
      }
      n += r;
    }
    return Arrays.equals(back, data);
  }

  /** An API answer: status, error code (or null), latency. */
  record Answer(int status, String code, long tookMs) { }

  static Answer status(String path) {
    return status(path, Duration.ofSeconds(30));
  }

  static Answer status(String path, Duration timeout) {
    long t0 = System.nanoTime();
    try {
      String token = new JsonObject(Files.readString(cli.configDir.resolve("credentials.json")))
          .getString("token");
      HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(controlUrl + path)).header("Authorization", "Bearer " + token)
          .timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
      String code = null;
      try {
        code = new JsonObject(resp.body()).getString("code");
      } catch (RuntimeException notJson) {
        // stays null
      }
      return new Answer(resp.statusCode(), code, (System.nanoTime() - t0) / 1_000_000);
    } catch (IOException e) {
      return new Answer(0, e.getClass().getSimpleName(), (System.nanoTime() - t0) / 1_000_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static ControlApi api() {
    return new ControlApi(controlUrl, cli.configDir);
  }
}
