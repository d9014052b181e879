package io.relaymesh.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.relaymesh.cli.e2e.NetnsTopology.Region;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
 * Issue 6: three "regions" in Linux network namespaces ({@link NetnsTopology}) with {@code tc
 * netem} delays of 5, 40 and 100 ms each way (round trips of 10, 80 and 200 ms from the root
 * namespace), one {@code relaymesh relay} per region running inside its namespace, and in the
 * root namespace the control plane ({@code relaymesh server}, embedded PostgreSQL), the agent
 * ({@code relaymesh agent}, default {@code --relay-count 2}) and the client (CLI children and the
 * real OpenSSH client through {@code config-ssh}). All real processes; the relays' self-signed
 * certificates are trusted through one PEM bundle ({@code --ca-cert} of the agent,
 * {@code RELAYMESH_CA_CERT} of the CLI).
 *
 * <p>Checks: {@code relays list} measures the regions in the order of their delays and marks the
 * nearest; the agent holds tunnels to the two nearest regions; {@code relaymesh ssh} goes through
 * the nearest region (the connection log's region); the round trip of a line through one
 * established SSH session (client -> relay -> agent -> shell and back, so twice the region's
 * network round trip) is close to that network minimum and clearly below the next region's; a
 * pinned region ({@code --region}, {@code cli.region}) is honoured. The measured figures are
 * printed (lines starting with {@code netns-e2e:}).
 *
 * <p>On a kernel without {@code sch_netem} (this build machine's, and CI's) the delays are
 * emulated in user space: per region a {@link DelayForwarder} on the root-side veth address
 * delays every chunk by the region's one-way delay in each direction and forwards to the relay
 * (which listens on a fixed port in its namespace and is started with the forwarder's address as
 * {@code --public-url}, so agent and CLI traffic to relays crosses the forwarders; the relays'
 * own traffic to the control plane is not delayed then). The handshake of a {@code connect()}
 * is not delayed by a forwarder, so the "network round trip" is then computed: the bare veth's
 * measured handshake plus twice the one-way delay. The log says {@code netem unavailable in this
 * kernel: delays emulated in user space}; the assertions are the same.
 *
 * <p>Skipped with the reason when namespaces cannot be made (not root, no iproute2, {@code ip
 * netns add} refused), except under {@code CI=true}, where it must run (CI runs as root and
 * {@code .ci/run} installs iproute2). {@code -Drelaymesh.netns.withoutNetem=true} builds the
 * topology without any delays, to try the plumbing: then only what does not depend on the delays
 * is checked (which region is "nearest" is whatever was measured).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MultiRegionNetnsE2ETest {

  /**
   * One-way delay per region (netem on each end of its veth, else {@link DelayForwarder}):
   * round trips 10, 80, 200 ms. (The
   * issue's example has 120 ms for the far one; 100 keeps the far relay's latency probe - TCP,
   * TLS and four requests, about 6 round trips - well inside the probe's 3 s budget even on a
   * cold, busy JVM.)
   */
  static final int[] ONE_WAY_MS = {5, 40, 100};
  static final boolean WITHOUT_NETEM = Boolean.getBoolean("relaymesh.netns.withoutNetem");
  static final String PASSWORD = "netns-admin-password-1";
  /** Round trips timed per SSH session, after {@link #WARM_UP} untimed ones. */
  static final int SAMPLES = 9;
  static final int WARM_UP = 3;

  static NetnsTopology topology;
  static Path tmp;
  static final List<Children> allChildren = new ArrayList<>();
  static Children cli;
  static Child server;
  static Child agent;
  static final Map<String, Child> relays = new LinkedHashMap<>();
  static final Map<String, Integer> relayPorts = new HashMap<>();
  /** Without netem: per region, the delaying forwarder the relay advertises (its public URL). */
  static final Map<String, DelayForwarder> forwarders = new LinkedHashMap<>();
  /**
   * Without netem, the relay's fixed port inside its namespace (the namespace is this run's own,
   * so the port is free), known before the relay starts: its forwarder, and so the public URL
   * the relay is started with, can exist first.
   */
  static final int EMULATED_RELAY_PORT = 8443;
  static String controlUrl;
  static Path caBundle;
  static Path sshConfig;
  /** Round trip of a TCP handshake from the root namespace to each region's relay, ms. */
  static final Map<String, Double> networkRtt = new LinkedHashMap<>();
  /** The regions the agent holds tunnels to (awaited before the tests). */
  static Set<String> agentRegions;
  /** Without delays: the region the CLI's latency choice happened to pick (learnt once). */
  static String measuredNearest;
  /** Why this environment cannot run the test (set by {@link #topologyAndProcesses}), or null. */
  static String skipReason;

  @BeforeAll
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  static void topologyAndProcesses() throws Exception {
    resetState(); // surefire re-runs a failed test with its @BeforeAll in this same JVM
    boolean ci = "true".equals(System.getenv("CI"));
    String notPermitted = NetnsTopology.notPermittedReason();
    if (notPermitted != null) {
      skip(notPermitted);
      return;
    }
    String missing = NetnsTopology.missingToolReason();
    if (missing != null) {
      if (ci) { // .ci/run installs iproute2
        fail("CI=true and root, but the multi-region netns test cannot run: " + missing);
      }
      skip(missing);
      return;
    }
    List<String> leftovers = NetnsTopology.cleanLeftovers();
    if (!leftovers.isEmpty()) {
      System.out.println("netns-e2e: removed namespaces left by earlier runs: " + leftovers);
    }
    try {
      topology = NetnsTopology.create(ONE_WAY_MS, !WITHOUT_NETEM);
    } catch (NetnsTopology.SetupException e) {
      switch (e.failure) {
        case NAMESPACES -> {
          if (ci) {
            fail("CI=true, root, iproute2 present, but: " + e.getMessage());
          }
          skip(e.getMessage());
        }
        default -> fail("building the netns topology: " + e.getMessage());
      }
      return;
    }
    if (topology.delaysEmulated()) {
      System.out.println("netns-e2e: netem unavailable in this kernel: delays emulated in user"
          + " space");
    }
    try {
      startEverything();
    } catch (Throwable t) {
      tearDown();
      throw t;
    }
  }

  private static void resetState() {
    topology = null;
    tmp = null;
    allChildren.clear();
    cli = null;
    server = null;
    agent = null;
    relays.clear();
    relayPorts.clear();
    controlUrl = null;
    networkRtt.clear();
    agentRegions = null;
    measuredNearest = null;
    skipReason = null;
    forwarders.clear();
  }

  /** Every test is then skipped with {@code reason} (counted and shown as skipped). */
  private static void skip(String reason) {
    System.out.println("netns-e2e: SKIPPED: " + reason);
    skipReason = reason;
  }

  @BeforeEach
  void skipWhereNamespacesCannotBeMade() {
    Assumptions.assumeTrue(skipReason == null, skipReason);
  }

  private static void startEverything() throws Exception {
    for (Region r : topology.regions()) {
      System.out.println("netns-e2e: " + topology.describe(r));
    }
    tmp = Files.createTempDirectory("relaymesh-netns-");
    caBundle = tmp.resolve("relays-ca.pem");
    sshConfig = tmp.resolve("ssh_config");
    cli = track(new Children(tmp, tmp.resolve("config"),
        Map.of("RELAYMESH_CA_CERT", caBundle.toString())));

    // control plane on every address, so the namespaces reach it at their root-side veth address
    server = cli.start(daemon("server", "--data-dir", tmp.resolve("data").toString(),
        "--listen", "0.0.0.0:0", "--no-builtin-relay", "--create-admin", "admin",
        "--password-stdin"), (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8));
    Pattern listening = Pattern.compile("control plane listening on (http://127\\.0\\.0\\.1:(\\d+))");
    Children.await(Duration.ofSeconds(90), () -> "the control plane listening:\n" + server,
        () -> listening.matcher(server.stdout()).find() || !server.process().isAlive());
    Matcher m = listening.matcher(server.stdout());
    assertThat(m.find()).as("control plane exited:\n%s", server).isTrue();
    controlUrl = m.group(1);
    int controlPort = Integer.parseInt(m.group(2));

    Result login = cli.run(Duration.ofSeconds(60), (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8),
        cli.cli("login", controlUrl, "-u", "admin", "--password-stdin"));
    assertThat(login.exit()).as("%s", login).isZero();

    // one relay per region, inside its namespace, registering through the delayed link
    for (Region r : topology.regions()) {
      Result created = cli.cliRun("relays", "create", r.name());
      assertThat(created.exit()).as("%s", created).isZero();
      String token = DevSshE2ETest.after(created.out(), "relay token (shown only once): ");
      Children procs = track(cli.withEnv(Map.of("RELAYMESH_RELAY_TOKEN", token,
          "RELAYMESH_RELAY_TLS_STATE_DIR", tmp.resolve("tls-" + r.name()).toString(),
          "RELAYMESH_RELAY_DRAIN_TIMEOUT", "2s")));
      List<String> args = new ArrayList<>(List.of("relay",
          "--control-url", "http://" + r.rootAddr() + ":" + controlPort, "--region", r.name(),
          "--replica-id", r.name() + "-a"));
      if (topology.delaysEmulated()) {
        // agents and clients reach the relay only through its forwarder on the root-side veth
        // address (covered by the self-signed certificate: the relay adds its public URL's host)
        DelayForwarder f = new DelayForwarder(r.name(), r.rootAddr(),
            new InetSocketAddress(r.nsAddr(), EMULATED_RELAY_PORT), r.oneWayDelayMs());
        forwarders.put(r.name(), f);
        args.addAll(List.of("--listen", r.nsAddr() + ":" + EMULATED_RELAY_PORT,
            "--public-url", "https://" + r.rootAddr() + ":" + f.port()));
      } else {
        args.addAll(List.of("--listen", r.nsAddr() + ":0"));
      }
      relays.put(r.name(), procs.start(NetnsTopology.exec(r, daemon(args.toArray(String[]::new))),
          null));
    }
    StringBuilder bundle = new StringBuilder();
    for (Region r : topology.regions()) {
      Child relay = relays.get(r.name());
      DelayForwarder f = forwarders.get(r.name());
      Pattern url = Pattern.compile("listening on https://" + Pattern.quote(f == null ? r.nsAddr()
          : r.rootAddr()) + ":(\\d+)");
      Children.await(Duration.ofSeconds(60), () -> "relay " + r.name() + " listening:\n" + relay,
          () -> url.matcher(relay.stdout()).find() || !relay.process().isAlive());
      Matcher u = url.matcher(relay.stdout());
      assertThat(u.find()).as("relay %s exited:\n%s", r.name(), relay).isTrue();
      if (f != null) {
        assertThat(Integer.parseInt(u.group(1))).as("relay %s's public URL", r.name())
            .isEqualTo(f.port());
      }
      relayPorts.put(r.name(), f == null ? Integer.parseInt(u.group(1)) : EMULATED_RELAY_PORT);
      bundle.append(Files.readString(DevSshE2ETest.firstPem(tmp.resolve("tls-" + r.name()))))
          .append('\n');
    }
    // three different self-signed certificates in one PEM file: trusted by agent and CLI
    Files.writeString(caBundle, bundle.toString());
    Children.await(Duration.ofSeconds(60), () -> "three healthy relays in " + api("/api/v1/relays")
        + "\nrelays: " + relays, () -> healthyRegions().size() == topology.regions().size());

    Map<String, Double> handshakes = new LinkedHashMap<>();
    for (Region r : topology.regions()) {
      // directly to the relay: with netem, the SYN crosses the delayed link
      handshakes.put(r.name(), tcpHandshakeMillis(r.nsAddr(), relayPorts.get(r.name())));
      // without netem the forwarder's kernel completes a handshake at once, so the emulated
      // round trip is computed: the veth's own (measured) plus twice the one-way delay
      networkRtt.put(r.name(), topology.delaysEmulated()
          ? handshakes.get(r.name()) + r.delayRttMs() : handshakes.get(r.name()));
    }
    if (topology.delaysEmulated()) {
      System.out.println("netns-e2e: network round trip from the root namespace, ms (emulated:"
          + " median of 5 TCP handshakes over the bare veth " + format(handshakes)
          + ", plus 2 x the one-way delay of the user-space forwarder): " + format(networkRtt));
    } else {
      System.out.println("netns-e2e: network round trip (median of 5 TCP handshakes) from the"
          + " root namespace, ms: " + format(networkRtt) + "; netem: " + (WITHOUT_NETEM ? "off"
              : topology.regions().stream().map(r -> r.name() + "=" + r.delayRttMs()).toList()));
    }

    // the agent starts once all relays are healthy, so it measures all three
    Result ws = cli.cliRun("workspaces", "create", "dev");
    assertThat(ws.exit()).as("%s", ws).isZero();
    String agentToken = DevSshE2ETest.after(ws.out(), "agent token (shown only once): ");
    agent = track(cli.withEnv(Map.of("RELAYMESH_AGENT_TOKEN", agentToken))).start(
        daemon("agent", "--url", controlUrl, "--ca-cert", caBundle.toString(),
            "--state-dir", tmp.resolve("agent").toString()), null);

    Result cfg = cli.cliRun("config-ssh", "-y", "--ssh-config", sshConfig.toString());
    assertThat(cfg.exit()).as("%s", cfg).isZero();
    // the agent measures the three relays and keeps two tunnels (its default --relay-count)
    Children.await(Duration.ofSeconds(60), () -> "the agent on 2 relays: "
        + api("/api/v1/workspaces") + "\nagent:\n" + agent, () -> agentRelayRegions().size() == 2);
    agentRegions = agentRelayRegions();
  }

  @AfterAll
  static void tearDown() {
    try {
      // the agent first, so the relays have no tunnels left to drain
      for (Child c : agent == null ? List.<Child>of() : List.of(agent)) {
        Children.stop(c.process(), Duration.ofSeconds(15));
      }
      relays.values().parallelStream().forEach(c -> Children.stop(c.process(), Duration.ofSeconds(15)));
      if (server != null) {
        Children.stop(server.process(), Duration.ofSeconds(30));
      }
      allChildren.forEach(Children::close);
      if (tmp != null) {
        Children.await(Duration.ofSeconds(15), () -> "no process left using " + tmp + ": "
            + Children.processesMentioning(tmp.toString()),
            () -> Children.processesMentioning(tmp.toString()).isEmpty());
      }
    } finally {
      forwarders.values().forEach(DelayForwarder::close); // joins its threads
      forwarders.clear();
      assertThat(Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
          .map(Thread::getName).filter(n -> n.startsWith(DelayForwarder.THREAD_PREFIX)).toList())
          .as("forwarder threads left").isEmpty();
      if (topology != null) {
        topology.close();
        for (Region r : topology.regions()) {
          assertThat(NetnsTopology.run("ip", "netns", "list").output())
              .as("namespace %s removed", r.netns()).doesNotContain(r.netns());
        }
      }
      if (tmp != null && !Boolean.getBoolean("relaymesh.e2e.keep")) {
        try (java.util.stream.Stream<Path> files = Files.walk(tmp)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
          System.out.println("netns-e2e: cannot delete " + tmp + ": " + e);
        }
      }
    }
  }

  // ---------------------------------------------------------------- tests

  @Test
  @Order(1)
  void relaysListMeasuresTheRegionsInTheOrderOfTheirDelaysAndMarksTheNearest() {
    Result r = cli.cliRun("relays", "list", "-o", "json");
    assertThat(r.exit()).as("%s", r).isZero();
    JsonArray regions = new JsonArray(r.out());
    Map<String, Double> rtt = new LinkedHashMap<>();
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < regions.size(); i++) {
      JsonObject g = regions.getJsonObject(i);
      JsonArray reps = g.getJsonArray("replicas");
      assertThat(reps).as("replicas of %s in\n%s", g.getString("region"), r.out()).hasSize(1);
      JsonObject rep = reps.getJsonObject(0);
      assertThat(rep.getValue("rttMs")).as("RTT of %s (rttError %s) in\n%s",
          g.getString("region"), rep.getString("rttError"), r.out()).isNotNull();
      rtt.put(g.getString("region"), rep.getDouble("rttMs"));
      if (rep.getBoolean("chosen", false)) {
        chosen.add(g.getString("region"));
      }
    }
    System.out.println("netns-e2e: relays list -o json RTT, ms: " + format(rtt) + "; chosen: "
        + chosen);
    assertThat(rtt.keySet()).containsExactlyInAnyOrder("r1", "r2", "r3");
    assertThat(chosen).as("one chosen replica in\n%s", r.out()).hasSize(1);
    if (WITHOUT_NETEM) {
      return;
    }
    assertThat(chosen).as("the nearest region is chosen").containsExactly("r1");
    assertThat(rtt.get("r1")).as("r1 nearer than r2: %s", rtt).isLessThan(rtt.get("r2"));
    assertThat(rtt.get("r2")).as("r2 nearer than r3: %s", rtt).isLessThan(rtt.get("r3"));
    for (Region region : topology.regions()) {
      // the delay is a floor; above it, the probe's own HTTP/TLS work on a busy 2-core machine
      double netem = region.delayRttMs();
      assertThat(rtt.get(region.name())).as("RTT of %s vs delays %s ms", region.name(), netem)
          .isBetween(netem * 0.9, netem * 1.5 + 30);
    }
  }

  @Test
  @Order(2)
  void agentHoldsTunnelsToTheTwoNearestRegions() {
    Result r = cli.cliRun("workspaces", "list", "-o", "json");
    assertThat(r.exit()).as("%s", r).isZero();
    JsonObject main = new JsonArray(r.out()).getJsonObject(0).getJsonArray("agents").getJsonObject(0);
    assertThat(main.getBoolean("connected")).as("%s", r.out()).isTrue();
    Set<String> regions = new TreeSet<>();
    main.getJsonArray("relays").forEach(o -> regions.add(((JsonObject) o).getString("region")));
    System.out.println("netns-e2e: the agent holds tunnels to " + regions + "; its log: "
        + agent.stderr().lines().filter(l -> l.contains("relays by round trip")).toList());
    assertThat(regions).as("two distinct regions in\n%s", r.out()).hasSize(2);
    if (!WITHOUT_NETEM) {
      assertThat(regions).as("the two nearest regions").containsExactly("r1", "r2");
    }
  }

  @Test
  @Order(3)
  void sshGoesThroughTheNearestRegionHoldingTheAgent() {
    String region = sshOnceThroughRegion();
    assertThat(agentRegions).contains(region);
    assertThat(region).isEqualTo(nearest());
  }

  /** {@code relaymesh ssh dev -- echo ...} (no region pinned); the connection log's region. */
  static String sshOnceThroughRegion() {
    long before = lastConnectionId();
    Result r = cli.run(Duration.ofSeconds(60), cli.cli("ssh", "dev", "--", "echo", "via-$((1+1))"));
    assertThat(r.exit()).as("%s", r).isZero();
    assertThat(r.out()).as("%s", r).isEqualTo("via-2\n");
    JsonObject conn = connectionAfter(before);
    System.out.println("netns-e2e: relaymesh ssh dev went through region " + conn.getString("region")
        + " (replica " + conn.getString("replicaId") + ")");
    return conn.getString("region");
  }

  /** The region the CLI must choose: r1 (5 ms); without netem, what it chose the first time. */
  static String nearest() {
    if (!WITHOUT_NETEM) {
      return "r1";
    }
    if (measuredNearest == null) {
      measuredNearest = sshOnceThroughRegion();
    }
    return measuredNearest;
  }

  /** The region pinned in {@link #aPinnedRegionIsHonoured}: the agent's other one (r2). */
  static String pinned() {
    String near = nearest();
    return agentRegions.stream().filter(g -> !g.equals(near)).findFirst().orElseThrow();
  }

  /**
   * One OpenSSH session (config-ssh's ProxyCommand) running a shell loop that echoes lines: each
   * timed line goes client -> relay -> agent -> shell and back, i.e. crosses the region's link
   * twice each way, so the network minimum is twice the region's round trip.
   */
  @Test
  @Order(4)
  void roundTripThroughTheChosenRegionIsCloseToTheNetworkMinimum() throws Exception {
    String nearest = nearest();
    long before = lastConnectionId();
    double[] samples = echoRoundTrips(Map.of());
    double median = median(samples);
    double minimum = 2 * networkRtt.get(nearest);
    String next = topology.regions().stream().map(Region::name).filter(n -> !n.equals(nearest))
        .min((a, b) -> Double.compare(networkRtt.get(a), networkRtt.get(b))).orElseThrow();
    double nextMinimum = 2 * networkRtt.get(next);
    System.out.printf(Locale.ROOT, "netns-e2e: SSH line round trip through %s: median %.1f ms of %s;"
        + " network minimum (2 x %.1f ms) %.1f ms; through %s it would be at least %.1f ms%n",
        nearest, median, Arrays.toString(round(samples)), networkRtt.get(nearest), minimum, next,
        nextMinimum);
    JsonObject conn = connectionAfter(before);
    assertThat(conn.getString("region")).as("the session's region in %s", conn).isEqualTo(nearest);
    if (!WITHOUT_NETEM) {
      // the floor proves the bytes crossed the link; above it, 1.5x plus the software path's own
      // cost (ssh, the ProxyCommand JVM, relay, agent, pty and shell: 7-12 ms here without any
      // delay on a busy 2-core machine); and clearly below any path through the next region
      assertThat(median).as("median round trip vs the network minimum %s ms", minimum)
          .isGreaterThanOrEqualTo(minimum * 0.9)
          .isLessThanOrEqualTo(minimum * 1.5 + 20)
          .isLessThan(nextMinimum);
    }
  }

  @Test
  @Order(5)
  void aPinnedRegionIsHonoured() throws Exception {
    String pinned = pinned();
    long before = lastConnectionId();
    Result r = cli.run(Duration.ofSeconds(60),
        cli.cli("ssh", "--region", pinned, "dev", "--", "echo", "pinned-$((2+2))"));
    assertThat(r.exit()).as("%s", r).isZero();
    assertThat(r.out()).as("%s", r).isEqualTo("pinned-4\n");
    JsonObject conn = connectionAfter(before);
    assertThat(conn.getString("region")).as("--region %s: %s", pinned, conn).isEqualTo(pinned);

    // cli.region (here RELAYMESH_CLI_REGION) for OpenSSH's ProxyCommand: the path is the far one
    before = lastConnectionId();
    double[] samples = echoRoundTrips(Map.of("RELAYMESH_CLI_REGION", pinned));
    double median = median(samples);
    double minimum = 2 * networkRtt.get(pinned);
    System.out.printf(Locale.ROOT, "netns-e2e: SSH line round trip pinned to %s: median %.1f ms of"
        + " %s; network minimum (2 x %.1f ms) %.1f ms%n", pinned, median,
        Arrays.toString(round(samples)), networkRtt.get(pinned), minimum);
    conn = connectionAfter(before);
    assertThat(conn.getString("region")).as("cli.region %s: %s", pinned, conn).isEqualTo(pinned);
    if (!WITHOUT_NETEM) {
      assertThat(pinned).isEqualTo("r2");
      // a physical floor: below it, the bytes cannot have crossed r2's link
      assertThat(median).as("round trip pinned to r2").isGreaterThanOrEqualTo(minimum * 0.9);
    }
  }

  // ---------------------------------------------------------------- helpers

  static Children track(Children c) {
    allChildren.add(c);
    return c;
  }

  /**
   * A long-running CLI child: full JIT (it carries the traffic), bounded heap, and the CLI's own
   * logging configuration (INFO of io.relaymesh on stderr: the agent's measured RTTs, the relays'
   * connections), which the control module's test jar on the class path would otherwise shadow.
   */
  static List<String> daemon(String... args) {
    List<String> cmd = new ArrayList<>(List.of(Children.javaBin(), "-Xmx256m",
        "-Dlogback.configurationFile=logback.xml", "-cp", Children.CP, "io.relaymesh.cli.Main"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Opens one OpenSSH session (through config-ssh's ProxyCommand, with {@code env} added) on a
   * remote terminal ({@code -tt}; echo off) whose shell echoes every line; after its "ready",
   * sends {@link #WARM_UP} untimed lines, then times {@link #SAMPLES} lines one after another
   * (write, then read the echo back), then ends the loop with "quit".
   *
   * <p>A terminal because, without one, the agent's SSH server holds a command's stdin back
   * until 8 KiB or EOF ({@code PipedProcessCommand} copies the channel into the process with
   * {@code InputStream.transferTo}, which never flushes the JDK's buffered process stdin): a
   * line-by-line exchange such as this one, {@code ssh host cat} or git over SSH stalls there.
   */
  static double[] echoRoundTrips(Map<String, String> env) throws Exception {
    Path err = tmp.resolve("logs").resolve("echo-session-" + System.nanoTime() + ".err");
    ProcessBuilder pb = new ProcessBuilder("ssh", "-F", sshConfig.toString(), "-o", "BatchMode=yes",
        "-tt", "relaymesh.dev", "stty -echo; echo ready; while IFS= read -r l && [ \"$l\" != quit ];"
            + " do echo \"$l\"; done").redirectError(err.toFile());
    pb.environment().clear();
    pb.environment().putAll(cli.env());
    pb.environment().putAll(env);
    Process p = pb.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8))) {
        String l;
        while ((l = in.readLine()) != null) {
          lines.add(l.replace("\r", ""));
        }
      } catch (IOException e) {
        // the process ended
      }
      lines.add("<eof>");
    }, "echo-session-reader");
    reader.setDaemon(true);
    reader.start();
    try (OutputStream out = p.getOutputStream()) {
      // the SSH connection set-up happens here, before any timing
      String ready = lines.poll(30, TimeUnit.SECONDS);
      if (!"ready".equals(ready)) {
        throw new AssertionError("no 'ready' from the remote loop within 30 s, got " + ready
            + "\nssh stderr: " + Children.read(err));
      }
      double[] samples = new double[SAMPLES];
      for (int i = 0; i < WARM_UP + SAMPLES; i++) {
        String token = "line-" + i + "-" + System.nanoTime();
        long t0 = System.nanoTime();
        out.write((token + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        String got = lines.poll(10, TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        if (!token.equals(got)) {
          throw new AssertionError("echo of '" + token + "' through ssh: got " + got
              + "\nssh stderr: " + Children.read(err));
        }
        if (i >= WARM_UP) {
          samples[i - WARM_UP] = (t1 - t0) / 1e6;
        }
      }
      out.write("quit\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        throw new AssertionError("ssh still running 15 s after 'quit'\nssh stderr: "
            + Children.read(err));
      }
      return samples;
    } finally {
      Children.stop(p, Duration.ofSeconds(10));
    }
  }

  /** Median of {@code n} TCP handshakes (connect() = one round trip) to host:port, in ms. */
  static double tcpHandshakeMillis(String host, int port) throws IOException {
    double[] t = new double[5];
    for (int i = 0; i < t.length; i++) {
      try (Socket s = new Socket()) {
        long t0 = System.nanoTime();
        s.connect(new InetSocketAddress(host, port), 5000);
        t[i] = (System.nanoTime() - t0) / 1e6;
      }
    }
    return median(t);
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  static double[] round(double[] values) {
    return Arrays.stream(values).map(v -> Math.round(v * 10) / 10.0).toArray();
  }

  static String format(Map<String, Double> ms) {
    List<String> parts = new ArrayList<>();
    ms.forEach((k, v) -> parts.add(String.format(Locale.ROOT, "%s=%.1f", k, v)));
    return String.join(", ", parts);
  }

  /** GET on the control plane with the CLI's session token (from its credentials.json). */
  static JsonObject api(String path) {
    return new ControlApi(controlUrl, cli.configDir).get(path);
  }

  static Set<String> healthyRegions() {
    return new ControlApi(controlUrl, cli.configDir).healthyRegions();
  }

  static Set<String> agentRelayRegions() {
    return new ControlApi(controlUrl, cli.configDir).agentRegions();
  }

  static long lastConnectionId() {
    JsonArray c = api("/api/v1/connections?limit=1").getJsonArray("connections");
    return c.isEmpty() ? 0 : c.getJsonObject(0).getLong("id");
  }

  /**
   * The newest connection-log record, once there is one newer than {@code before} (a relay
   * reports a connection when it closes, through its delayed link: waited for up to 30 s).
   */
  static JsonObject connectionAfter(long before) {
    Children.await(Duration.ofSeconds(30), () -> "a connection record after id " + before + " in "
        + api("/api/v1/connections?limit=5"), () -> lastConnectionId() > before);
    return api("/api/v1/connections?limit=1").getJsonArray("connections").getJsonObject(0);
  }

}
