package io.relaymesh.cli.e2e;

import static io.relaymesh.cli.e2e.MultiRegionNetnsE2ETest.daemon;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.relaymesh.cli.e2e.NetnsTopology.Region;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 9, faults of processes and of the network, with real processes: {@code relaymesh server}
 * (embedded PostgreSQL), two {@code relaymesh relay}s (regions a, b), {@code relaymesh agent}
 * (tunnels to both), a long-running {@code relaymesh port-forward} to a {@link FaultFileServer} on
 * the workspace side, and {@code relaymesh ssh} over the real OpenSSH client. Relays and agents
 * run with a dead-peer timeout of {@link #DEAD_PEER} and a keepalive of a fifth of it (defaults: 45 s and
 * 15 s), agents with {@code reconnect-max} 5 s (default 30 s).
 *
 * <ol>
 *   <li>SIGKILL of the relay carrying a port-forward, in the middle of a download: the files
 *       transferred before are intact (SHA-256, an upload acknowledged by the server is on its
 *       disk unchanged); the download in flight fails visibly (a reset, never an EOF after a short
 *       file); the same port-forward carries a transfer again after X ms (it dials the other
 *       relay); the restarted relay holds the agent again after Y ms; the connection log has
 *       every completed connection;
 *   <li>SIGKILL of the agent during a download: the download fails visibly; {@code relaymesh
 *       ssh} ends with one line naming the agent; the restarted agent is reachable after X ms;
 *       the cut connection is in the log;
 *   <li>a brief partition (shorter than the dead-peer timeout) of an agent in its own network
 *       namespace: an SSH session streaming output survives it, no tunnel is dropped;
 *   <li>a long partition (twice the dead-peer timeout): the SSH session ends with an error
 *       within the timeout plus a margin, the relays notice (the control plane no longer lists
 *       the agent), and after the link is up again the agent is back (measured).
 * </ol>
 *
 * <p>The measured figures are printed (lines starting with {@code faults:}). The partition tests
 * are skipped with the reason where network namespaces cannot be made (not root, no iproute2).
 * A relay records a connection when it is established and completes the record when it ends:
 * the record of the download cut by the relay's own SIGKILL is in the log, open until the control
 * plane learns that the relay is gone (heartbeat expiry, or the restarted relay registering with a
 * new instance id), then ended with close reason {@code relay-lost} (docs/api.md "The connection
 * log").
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ProcessFaultsE2ETest {

  static final String PASSWORD = "fault-test-admin-password";
  /**
   * The relays' and agents' dead-peer timeout: 5 s, or {@code -Drelaymesh.faults.deadPeerSeconds}
   * (45 = the default of both; the partitions then last correspondingly longer).
   */
  static final Duration DEAD_PEER = Duration.ofSeconds(Long.getLong("relaymesh.faults.deadPeerSeconds", 5));
  /** The short keepalive and dead-peer timeout, for {@code relay} or {@code agent}. */
  static Map<String, String> tunnelEnv(String component) {
    String p = "RELAYMESH_" + component + "_";
    return Map.of(p + "TUNNEL_KEEPALIVE_INTERVAL", Math.max(1, DEAD_PEER.toSeconds() / 5) + "s",
        p + "TUNNEL_DEAD_PEER_TIMEOUT",
        DEAD_PEER.toSeconds() + "s");
  }
  /** Bytes per second of the download the faults cut (8 MiB in 8 s). */
  static final long SLOW_RATE = 1 << 20;
  static final int BIG = 8 << 20;

  static Path tmp;
  static Children cli;
  static Child server;
  static String controlUrl;
  static int controlPort;
  static Path bundle;
  static NetnsTopology topology;
  static Region agentNs;
  static String netnsSkip;
  /** Where the relays listen: the root end of the agent namespace's veth, else loopback. */
  static String relayHost = "127.0.0.1";
  static final Map<String, Child> relays = new LinkedHashMap<>();
  static final Map<String, String> relayTokens = new LinkedHashMap<>();
  static String agentToken;
  static Child agent;
  static FaultFileServer files;
  static Child forward;
  static int forwardPort;

  @BeforeAll
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  static void start() throws Exception {
    // surefire re-runs a failed test with its @BeforeAll in this same JVM
    tmp = null;
    cli = null;
    server = null;
    topology = null;
    agentNs = null;
    netnsSkip = null;
    relayHost = "127.0.0.1";
    relays.clear();
    relayTokens.clear();
    agent = null;
    partAgent = null;
    files = null;
    forward = null;
    try {
      startEverything();
    } catch (Throwable t) {
      stop();
      throw t;
    }
  }

  private static void startEverything() throws Exception {
    netns();
    tmp = Files.createTempDirectory("relaymesh-faults-");
    bundle = tmp.resolve("relays-ca.pem");
    cli = new Children(tmp, tmp.resolve("config"), Map.of("RELAYMESH_CA_CERT", bundle.toString()));
    // on every address when an agent runs in a namespace: it reaches us at the veth's root end
    server = cli.start(daemon("server", "--data-dir", tmp.resolve("data").toString(),
        "--listen", (topology != null ? "0.0.0.0" : "127.0.0.1") + ":0", "--no-builtin-relay",
        "--create-admin", "admin", "--password-stdin", "--heartbeat-timeout", "6s"),
        (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8));
    Pattern listening = Pattern.compile("control plane listening on (http://127\\.0\\.0\\.1:(\\d+))");
    Children.await(Duration.ofSeconds(90), () -> "the control plane listening:\n" + server,
        () -> listening.matcher(server.stdout()).find() || !server.process().isAlive());
    Matcher m = listening.matcher(server.stdout());
    assertThat(m.find()).as("control plane exited:\n%s", server).isTrue();
    controlUrl = m.group(1);
    controlPort = Integer.parseInt(m.group(2));
    Result login = cli.run(Duration.ofSeconds(60), (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8),
        cli.cli("login", controlUrl, "-u", "admin", "--password-stdin"));
    assertThat(login.exit()).as("%s", login).isZero();

    StringBuilder pems = new StringBuilder();
    for (String region : List.of("a", "b")) {
      Result created = cli.cliRun("relays", "create", region);
      assertThat(created.exit()).as("%s", created).isZero();
      relayTokens.put(region, DevSshE2ETest.after(created.out(), "relay token (shown only once): "));
      startRelay(region);
    }
    for (String region : relays.keySet()) {
      awaitListening(region);
      pems.append(Files.readString(DevSshE2ETest.firstPem(tmp.resolve("tls-" + region))))
          .append('\n');
    }
    Files.writeString(bundle, pems.toString());
    Children.await(Duration.ofSeconds(60), () -> "two healthy relays: " + api("/api/v1/relays"),
        () -> api().healthyRegions().size() == 2);

    Result ws = cli.cliRun("workspaces", "create", "dev");
    assertThat(ws.exit()).as("%s", ws).isZero();
    agentToken = DevSshE2ETest.after(ws.out(), "agent token (shown only once): ");
    agent = startAgent(null, controlUrl, agentToken, "agent");
    if (netnsSkip == null) { // the partition tests' agent, in its namespace, starts meanwhile
      Result part = cli.cliRun("workspaces", "create", "part");
      assertThat(part.exit()).as("%s", part).isZero();
      partAgent = startAgent(agentNs, "http://" + agentNs.rootAddr() + ":" + controlPort,
          DevSshE2ETest.after(part.out(), "agent token (shown only once): "), "agent-part");
    }
    files = new FaultFileServer(tmp.resolve("workspace-files"));
    Children.await(Duration.ofSeconds(60), () -> "the agent on 2 relays: "
        + api("/api/v1/workspaces") + "\nagent:\n" + agent, () -> agentRegions("dev").size() == 2);

    forward = cli.start(daemon("port-forward", "dev", "--tcp", "127.0.0.1:0:" + files.port()), null);
    Pattern fwd = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) ->");
    Children.await(Duration.ofSeconds(60), () -> "port-forward listening:\n" + forward,
        () -> fwd.matcher(forward.stdout()).find() || !forward.process().isAlive());
    Matcher f = fwd.matcher(forward.stdout());
    assertThat(f.find()).as("port-forward exited:\n%s", forward).isTrue();
    forwardPort = Integer.parseInt(f.group(1));
  }

  /** One network namespace for the partitioned agent, or {@link #netnsSkip} says why not. */
  private static void netns() {
    String reason = NetnsTopology.notPermittedReason();
    if (reason == null) {
      reason = NetnsTopology.missingToolReason();
    }
    if (reason == null) {
      NetnsTopology.cleanLeftovers();
      try {
        topology = NetnsTopology.create(new int[] {0}, false);
        agentNs = topology.region("r1");
        relayHost = agentNs.rootAddr();
      } catch (NetnsTopology.SetupException e) {
        if (e.failure != NetnsTopology.Failure.NAMESPACES) {
          fail("building the agent's network namespace: " + e.getMessage());
        }
        reason = e.getMessage();
      }
    }
    if (reason != null) {
      netnsSkip = reason;
      System.out.println("faults: partition tests SKIPPED: " + reason);
    }
  }

  static void startRelay(String region) {
    List<String> args = new ArrayList<>(List.of("relay", "--control-url", controlUrl, "--region",
        region, "--replica-id", region + "-a", "--listen", relayHost + ":0"));
    relays.put(region, cli.withEnv(tunnelEnv("RELAY")).withEnv(Map.of("RELAYMESH_RELAY_TOKEN",
        relayTokens.get(region), "RELAYMESH_RELAY_TLS_STATE_DIR",
        tmp.resolve("tls-" + region).toString())).start(daemon(args.toArray(String[]::new)), null));
  }

  static void awaitListening(String region) {
    Child relay = relays.get(region);
    Pattern url = Pattern.compile("listening on https://" + Pattern.quote(relayHost) + ":(\\d+)");
    Children.await(Duration.ofSeconds(60), () -> "relay " + region + " listening:\n" + relay,
        () -> url.matcher(relay.stdout()).find() || !relay.process().isAlive());
    assertThat(url.matcher(relay.stdout()).find()).as("relay %s exited:\n%s", region, relay).isTrue();
  }

  /** An agent (in {@code ns} when not null) with the short keepalive and reconnect cap. */
  static Child startAgent(Region ns, String url, String token, String stateDir) {
    List<String> args = new ArrayList<>(List.of("agent", "--url", url, "--ca-cert",
        bundle.toString(), "--state-dir", tmp.resolve(stateDir).toString()));
    List<String> cmd = daemon(args.toArray(String[]::new));
    return cli.withEnv(tunnelEnv("AGENT")).withEnv(Map.of("RELAYMESH_AGENT_TOKEN", token,
        "RELAYMESH_AGENT_RECONNECT_MAX", "5s"))
        .start(ns == null ? cmd : NetnsTopology.exec(ns, cmd), null);
  }

  @AfterAll
  static void stop() throws Exception {
    if (files != null) {
      files.close();
    }
    if (cli != null) {
      List<Child> all = new ArrayList<>();
      for (Child c : new Child[] {forward, agent, partAgent}) {
        if (c != null) {
          all.add(c);
        }
      }
      all.addAll(relays.values());
      all.forEach(c -> Children.stop(c.process(), Duration.ofSeconds(15)));
      if (server != null) {
        Children.stop(server.process(), Duration.ofSeconds(30));
      }
      cli.close();
    }
    if (topology != null) {
      topology.close();
    }
    if (tmp != null) {
      Children.await(Duration.ofSeconds(15), () -> "no process left using " + tmp + ": "
          + Children.processesMentioning(tmp.toString()),
          () -> Children.processesMentioning(tmp.toString()).isEmpty());
      if (!Boolean.getBoolean("relaymesh.e2e.keep")) {
        try (java.util.stream.Stream<Path> all = Files.walk(tmp)) {
          all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  /** A test that failed half-way leaves no process dead for the next one. */
  @BeforeEach
  void everyProcessUp() {
    for (String region : List.copyOf(relays.keySet())) {
      if (!relays.get(region).process().isAlive()) {
        startRelay(region);
        awaitListening(region);
      }
    }
    if (!agent.process().isAlive()) {
      agent = startAgent(null, controlUrl, agentToken, "agent");
    }
    Children.await(Duration.ofSeconds(60), () -> "the agent on 2 relays: "
        + api("/api/v1/workspaces") + "\nagent:\n" + agent, () -> agentRegions("dev").size() == 2);
  }

  // ------------------------------------------------------------------ relay SIGKILL

  @Test
  @Order(1)
  void relayKilledDuringATransfer() throws Exception {
    files.create("warm", 64 << 10);
    long before = lastConnectionId();
    assertIntact("warm", FaultFileServer.get(forwardPort, "warm", 0, n -> { }));
    JsonObject warm = connectionsAfter(before, r -> true, 1).get(0);
    String victim = warm.getString("region");
    String other = relays.keySet().stream().filter(r -> !r.equals(victim)).findFirst().orElseThrow();

    // the transfers that complete before the fault: three downloads and one acknowledged upload
    long mark = lastConnectionId();
    for (int i = 1; i <= 3; i++) {
      files.create("file-" + i, (1 + i) << 20);
      assertIntact("file-" + i, FaultFileServer.get(forwardPort, "file-" + i, 0, n -> { }));
    }
    byte[] upload = Files.readAllBytes(files.create("upload-src", 3 << 20));
    String ack = FaultFileServer.put(forwardPort, "upload-1", upload);
    assertThat(ack).as("the server's SHA-256 of the upload").isEqualTo(FaultFileServer.sha256(upload));

    files.create("big", BIG);
    int saidBefore = forward.stderr().length();
    InFlight inflight = InFlight.start("big");
    long killed = inflight.afterProgressThen(() -> {
      relays.get(victim).process().destroyForcibly(); // SIGKILL: no GOAWAY, no deregistration
    });
    long errorSeen = inflight.assertFailedVisibly("SIGKILL of relay " + victim);

    // the same port-forward process carries a new transfer: its next dial goes to the other relay
    files.create("after", 1 << 20);
    long ok = retryUntilTransferWorks("after");
    String forwardSaid = forwardSays(saidBefore);
    assertThat(forwardSaid).as("the port-forward's stderr after its relay was killed")
        .contains("lost the tunnel to relay");
    // files finished before the kill are still intact where they were stored
    assertThat(FaultFileServer.sha256(Files.readAllBytes(files.file("upload-1"))))
        .as("the upload acknowledged before the kill, on the server's disk")
        .isEqualTo(FaultFileServer.sha256(upload));

    // the connection log: every connection that completed on the killed relay
    List<JsonObject> onVictim = connectionsAfter(mark, r -> victim.equals(r.getString("region")), 4);
    Set<Long> completedSizes = Set.of(2L << 20, 3L << 20, 4L << 20);
    long uploadIn = upload.length + "PUT upload-1\n".length();
    List<JsonObject> completed = onVictim.stream().filter(r -> completedSizes.contains(
        r.getLong("bytesOut", 0L)) || r.getLong("bytesIn", 0L) == uploadIn).toList();
    // the download the kill cut: recorded when it was established, never completed by the
    // relay; open, or already ended relay-lost by the control plane (heartbeat timeout 6 s)
    List<JsonObject> open = onVictim.stream().filter(r -> !completed.contains(r)
        && (r.getString("endedAt") == null || "relay-lost".equals(r.getString("closeReason"))))
        .toList();
    boolean cutRecorded = open.size() == 1;

    // the killed relay comes back (same token, same certificate) and the agent returns to it
    long restart = System.nanoTime();
    startRelay(victim);
    awaitListening(victim);
    long listening = System.nanoTime();
    Children.await(Duration.ofSeconds(60), () -> "the agent on " + victim + " again: "
        + api("/api/v1/workspaces") + "\nagent:\n" + agent,
        () -> agentRegions("dev").contains(victim));
    long agentBack = System.nanoTime();
    // the restarted relay registered with a new instance id: the cut record is ended relay-lost
    JsonObject lost = cutRecorded ? connectionsAfter(open.get(0).getLong("id") - 1,
        r -> r.getLong("id").equals(open.get(0).getLong("id"))
            && "relay-lost".equals(r.getString("closeReason")), 1).get(0) : null;

    System.out.printf(Locale.ROOT, "faults: relay SIGKILL: killed relay %s carrying the port-forward"
        + " during a %d MiB download at %d bytes; the client saw the error %.0f ms after the kill"
        + " (%s); port-forward said: \"%s\"; the same port-forward completed a transfer again %.0f ms after the kill (via %s);"
        + " restarted relay listening %.0f ms after its start, agent tunnel on it again %.0f ms"
        + " after its start; connection log: %d completed connections of the killed relay"
        + " recorded, the cut one %s%n", victim, BIG >> 20, inflight.progress.get(),
        ms(errorSeen - killed), inflight.error, forwardSaid, ms(ok - killed), other, ms(listening - restart),
        ms(agentBack - restart), completed.size(), cutRecorded
            ? "recorded, then ended relay-lost at " + lost.getString("endedAt") : "NOT recorded");
    assertThat(completed).as("records of the 3 downloads and the upload completed on %s: %s",
        victim, onVictim).hasSize(4);
    assertThat(cutRecorded).as("one record of the connection cut by the relay's SIGKILL, open or "
        + "ended relay-lost, in %s", onVictim).isTrue();
    assertThat(Instant.parse(lost.getString("endedAt"))).as("relay-lost end: %s", lost)
        .isAfterOrEqualTo(Instant.parse(lost.getString("startedAt")));
    assertThat(lost.getLong("bytesOut")).as("bytes of a relay-lost record are not known: %s", lost)
        .isZero();
  }

  // ------------------------------------------------------------------ agent SIGKILL

  @Test
  @Order(2)
  void agentKilledDuringATransfer() throws Exception {
    files.create("big2", BIG);
    long mark = lastConnectionId();
    int saidBefore = forward.stderr().length();
    InFlight inflight = InFlight.start("big2");
    long killed = inflight.afterProgressThen(() -> agent.process().destroyForcibly());
    long errorSeen = inflight.assertFailedVisibly("SIGKILL of the agent");

    // a new ssh: one clear line naming the agent, in bounded time
    long t0 = System.nanoTime();
    Result ssh = cli.run(Duration.ofSeconds(60), cli.cli("ssh", "dev", "--", "echo", "hi"));
    long sshTook = System.nanoTime() - t0;
    assertThat(ssh.exit()).as("ssh to a workspace whose agent was killed: %s", ssh).isNotZero();
    assertThat(ssh.err()).as("%s", ssh).contains("agent").doesNotContain("Exception");
    String sshLine = ssh.err().strip().lines().filter(l -> l.startsWith("relaymesh:")).findFirst()
        .orElse(ssh.err().strip());

    // the cut connection is in the log (the relay lived): bytes short of the file
    List<JsonObject> cut = connectionsAfter(mark, r -> r.getLong("bytesOut", 0L) < BIG
        && r.getLong("bytesOut", 0L) > 0, 1);

    // the agent restarts (same token and state) and is reachable again
    long restart = System.nanoTime();
    agent = startAgent(null, controlUrl, agentToken, "agent");
    long ok = retryUntilTransferWorks("after");
    assertThat(forward.stderr().substring(saidBefore)).as("the port-forward's stderr while the"
        + " agent was down").contains("agent 'main' of workspace 'admin/dev' is not connected");
    System.out.printf(Locale.ROOT, "faults: agent SIGKILL: the download in flight failed %.0f ms after"
        + " the kill (%s); port-forward said: \"%s\"; `relaymesh ssh` exited %d after %.0f ms:"
        + " \"%s\"; the cut connection"
        + " is in the log (%s); the restarted agent carried a transfer %.0f ms after its start%n",
        ms(errorSeen - killed), inflight.error, forwardSays(saidBefore), ssh.exit(), ms(sshTook),
        sshLine,
        cut.get(0).getString("closeReason"), ms(ok - restart));
  }

  // ------------------------------------------------------------------ partitions

  static Child partAgent;

  /** The agent of workspace "part" in its own namespace (tests 3 and 4), on both relays. */
  static void partAgent() {
    Assumptions.assumeTrue(netnsSkip == null, () -> "partition: " + netnsSkip);
    Children.await(Duration.ofSeconds(60), () -> "the namespaced agent on 2 relays: "
        + api("/api/v1/workspaces") + "\nagent:\n" + partAgent,
        () -> agentRegions("part").size() == 2);
  }

  /** An SSH session printing {@code tick-<i>} every 250 ms, {@code n} times. */
  static Child ticking(int n) {
    Child c = cli.start(cli.cli("ssh", "part", "--", "i=0; while [ $i -lt " + n + " ]; do echo"
        + " tick-$i; i=$((i+1)); sleep 0.25; done"), null);
    Children.await(Duration.ofSeconds(60), () -> "the first ticks:\n" + c,
        () -> c.stdout().contains("tick-3") || !c.process().isAlive());
    assertThat(c.stdout()).as("%s", c).contains("tick-3");
    return c;
  }

  static void link(boolean up) {
    NetnsTopology.Cmd c = NetnsTopology.run("ip", "-n", agentNs.netns(), "link", "set",
        agentNs.nsIf(), up ? "up" : "down");
    assertThat(c.exit()).as("ip link set %s: %s", up ? "up" : "down", c.output()).isZero();
  }

  @Test
  @Order(3)
  void aBriefPartitionIsSurvived() throws Exception {
    partAgent();
    int tunnelsDown = count(partAgent.stderr() + partAgent.stdout(), "tunnel down");
    long before = lastConnectionId();
    long pause = DEAD_PEER.toMillis() * 2 / 5;
    int lines = (int) (pause / 250) + 16;
    Child session = ticking(lines);
    long down = System.nanoTime();
    link(false);
    try {
      Thread.sleep(pause);
    } finally {
      link(true);
    }
    long up = System.nanoTime();
    assertThat(session.process().waitFor(60 + pause / 1000, TimeUnit.SECONDS)).as("%s", session)
        .isTrue();
    long done = System.nanoTime();
    assertThat(session.process().exitValue()).as("the SSH session across a %d ms partition: %s",
        pause, session).isZero();
    List<String> ticks = session.stdout().lines().toList();
    assertThat(ticks).as("every tick, in order").containsExactly(
        java.util.stream.IntStream.range(0, lines).mapToObj(i -> "tick-" + i).toArray(String[]::new));
    assertThat(count(partAgent.stderr() + partAgent.stdout(), "tunnel down"))
        .as("tunnels the agent lost in a partition shorter than the dead-peer timeout:\n%s",
            partAgent).isEqualTo(tunnelsDown);
    assertThat(agentRegions("part")).hasSize(2);
    connectionsAfter(before, r -> r.getString("workspace", "").endsWith("/part")
        && r.getString("endedAt") != null, 1);
    System.out.printf(Locale.ROOT, "faults: brief partition: agent link down %.0f ms (dead-peer"
        + " timeout %d s): the SSH session survived, all %d lines arrived, it ended %.0f ms after"
        + " the link came back; no tunnel dropped%n", ms(up - down), DEAD_PEER.toSeconds(),
        ticks.size(), ms(done - up));
  }

  @Test
  @Order(4)
  void aLongPartitionIsNoticedAndHealed() throws Exception {
    partAgent();
    long before = lastConnectionId();
    Child session = ticking((int) (DEAD_PEER.toMillis() * 16 / 1000) + 40);
    long down = System.nanoTime();
    long hold = DEAD_PEER.toMillis() * 2;
    long clientEnded = -1;
    long relaysNoticed = -1;
    long relayDeadPeer = -1;
    long bothDeadPeer = -1;
    int deadPeersBefore = deadPeerLines();
    link(false);
    try {
      long end = down + hold * 1_000_000 + Duration.ofSeconds(50).toNanos();
      while (System.nanoTime() < end
          && (clientEnded < 0 || relaysNoticed < 0 || System.nanoTime() - down < hold * 1_000_000)) {
        if (clientEnded < 0 && !session.process().isAlive()) {
          clientEnded = System.nanoTime();
        }
        if (relaysNoticed < 0 && agentRegions("part").isEmpty()) {
          relaysNoticed = System.nanoTime();
        }
        if (relayDeadPeer < 0 && deadPeerLines() > deadPeersBefore) {
          relayDeadPeer = System.nanoTime();
        }
        if (bothDeadPeer < 0 && deadPeerLines() >= deadPeersBefore + 2) {
          bothDeadPeer = System.nanoTime();
        }
        Thread.sleep(100);
      }
    } finally {
      link(true);
    }
    long up = System.nanoTime();
    assertThat(clientEnded).as("the SSH session still runs %d ms into the partition:\n%s",
        hold + 50_000, session).isPositive();
    assertThat(relaysNoticed).as("the control plane still lists the agent on %s %d ms into the"
        + " partition", agentRegions("part"), hold + 50_000).isPositive();
    assertThat(session.process().exitValue()).as("%s", session).isNotZero();
    String why = String.join(" / ", session.stderr().strip().lines().toList());
    assertThat(session.stderr()).as("what the user sees when the agent is cut off:\n%s", session)
        .contains("lost the SSH connection to workspace 'part' through relay");
    assertThat(relayDeadPeer).as("a relay logging the dead peer").isPositive();
    List<JsonObject> cut = connectionsAfter(before,
        r -> r.getString("workspace", "").endsWith("/part") && r.getString("endedAt") != null, 1);

    long sshOk = -1;
    Result again = null;
    for (int i = 0; i < 10 && sshOk < 0; i++) {
      again = cli.run(Duration.ofSeconds(60), cli.cli("ssh", "part", "--", "echo", "back"));
      if (again.exit() == 0 && again.out().equals("back\n")) {
        sshOk = System.nanoTime();
      }
    }
    assertThat(sshOk).as("no ssh succeeded after the partition: %s", again).isPositive();
    Children.await(Duration.ofSeconds(60), () -> "the agent on 2 relays again: "
        + api("/api/v1/workspaces"), () -> agentRegions("part").size() == 2);
    long bothBack = System.nanoTime();
    System.out.printf(Locale.ROOT, "faults: long partition: agent link down %.0f ms (dead-peer"
        + " timeout %d s): the SSH session ended %.0f ms into it with exit %d: \"%s\"; the"
        + " relays closed the agent's tunnels as a dead peer %.0f and %.0f ms into it; the control plane stopped"
        + " listing the agent %.0f ms into it; the cut session is in the"
        + " log (%s); after the link came back a new ssh succeeded after %.0f ms, both tunnels"
        + " were up after %.0f ms%n", ms(up - down), DEAD_PEER.toSeconds(), ms(clientEnded - down),
        session.process().exitValue(), why, ms(relayDeadPeer - down), ms(bothDeadPeer - down),
        ms(relaysNoticed - down),
        cut.get(0).getString("closeReason"), ms(sshOk - up), ms(bothBack - up));
    assertThat(ms(clientEnded - down)).as("ms until the client saw the partition")
        .isLessThan(DEAD_PEER.toMillis() * 4 + 10_000);
  }

  // ------------------------------------------------------------------ helpers

  /** A slow download through the port-forward on its own thread. */
  static final class InFlight {
    final String name;
    final AtomicLong progress = new AtomicLong();
    final CompletableFuture<byte[]> result = new CompletableFuture<>();
    String error;

    private InFlight(String name) {
      this.name = name;
    }

    static InFlight start(String name) {
      InFlight f = new InFlight(name);
      Thread t = new Thread(() -> {
        try {
          f.result.complete(FaultFileServer.get(forwardPort, name, SLOW_RATE, f.progress::set));
        } catch (Throwable e) {
          f.result.completeExceptionally(e);
        }
      }, "in-flight-" + name);
      t.setDaemon(true);
      t.start();
      return f;
    }

    /** Once a quarter of the file arrived, runs {@code fault}; returns when (nanoTime). */
    long afterProgressThen(Runnable fault) {
      Children.await(Duration.ofSeconds(60), () -> "a quarter of " + name + ": "
          + progress.get() + " bytes; " + result, () -> progress.get() >= BIG / 4 || result.isDone());
      assertThat(result).as("%s ended before the fault", name).isNotDone();
      fault.run();
      return System.nanoTime();
    }

    /**
     * The download must end with an error (a reset), within 60 s, never with an EOF that would
     * make a short file look complete; returns when it ended.
     */
    long assertFailedVisibly(String fault) throws InterruptedException {
      try {
        byte[] got = result.get(60, TimeUnit.SECONDS);
        fail("after " + fault + " the download of " + name + " ended with an EOF after "
            + got.length + " of " + BIG + " bytes: a cut transfer looks complete");
      } catch (ExecutionException e) {
        assertThat(e.getCause()).as("how the download ended after %s", fault)
            .isInstanceOf(IOException.class);
        error = e.getCause().toString();
      } catch (java.util.concurrent.TimeoutException e) {
        fail("after " + fault + " the download of " + name + " hangs (60 s) at " + progress.get()
            + " bytes");
      }
      return System.nanoTime();
    }
  }

  /** Downloads {@code name} through the port-forward until it arrives intact (60 s at most). */
  static long retryUntilTransferWorks(String name) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String last = "";
    while (System.nanoTime() < end) {
      try {
        byte[] got = FaultFileServer.get(forwardPort, name, 0, n -> { });
        if (FaultFileServer.sha256(got).equals(FaultFileServer.sha256(
            Files.readAllBytes(files.file(name))))) {
          return System.nanoTime();
        }
        last = "short: " + got.length + " bytes";
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no intact transfer of " + name + " through the port-forward for 60"
        + " s; last: " + last + "\nport-forward:\n" + forward);
  }

  static void assertIntact(String name, byte[] got) throws IOException {
    assertThat(FaultFileServer.sha256(got)).as("SHA-256 of %s (%d bytes)", name, got.length)
        .isEqualTo(FaultFileServer.sha256(Files.readAllBytes(files.file(name))));
  }

  /** Lines of all relays' logs about a session closed as a dead peer. */
  static int deadPeerLines() {
    return relays.values().stream().mapToInt(r -> count(r.stderr() + r.stdout(), "dead peer")).sum();
  }

  /** The port-forward's first stderr line since {@code from} characters, and how many followed. */
  static String forwardSays(int from) {
    String err = forward.stderr();
    List<String> lines = from >= err.length() ? List.of() : err.substring(from).strip().lines().toList();
    return lines.isEmpty() ? "(nothing)" : lines.get(0) + (lines.size() > 1 ? " (and "
        + (lines.size() - 1) + " more lines)" : "");
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  static ControlApi api() {
    return new ControlApi(controlUrl, cli.configDir);
  }

  static JsonObject api(String path) {
    return api().get(path);
  }

  static long lastConnectionId() {
    JsonArray c = api("/api/v1/connections?limit=1").getJsonArray("connections");
    return c.isEmpty() ? 0 : c.getJsonObject(0).getLong("id");
  }

  /**
   * The connection records newer than {@code after} that match, once there are {@code atLeast}
   * (waited for up to 30 s: a relay reports a connection when it ends), oldest first.
   */
  static List<JsonObject> connectionsAfter(long after, java.util.function.Predicate<JsonObject> which,
      int atLeast) {
    List<JsonObject> out = new ArrayList<>();
    Children.await(Duration.ofSeconds(30), () -> atLeast + " matching connection records after id "
        + after + " in " + api("/api/v1/connections?limit=20"), () -> {
          out.clear();
          api("/api/v1/connections?limit=200").getJsonArray("connections").forEach(o -> {
            JsonObject r = (JsonObject) o;
            if (r.getLong("id") > after && which.test(r)) {
              out.add(0, r);
            }
          });
          return out.size() >= atLeast;
        });
    return out;
  }

  /** Regions of the healthy relays holding the tunnels of workspace {@code name}'s agent. */
  static Set<String> agentRegions(String name) {
    Set<String> out = new TreeSet<>();
    api("/api/v1/workspaces").getJsonArray("workspaces").forEach(o -> {
      JsonObject w = (JsonObject) o;
      if (name.equals(w.getString("name"))) {
        w.getJsonArray("agents").getJsonObject(0).getJsonArray("relays", new JsonArray())
            .forEach(r -> out.add(((JsonObject) r).getString("region")));
      }
    });
    return out;
  }
}
