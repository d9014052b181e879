package io.relaymesh.cli.e2e;

import static io.relaymesh.cli.e2e.MultiRegionNetnsE2ETest.daemon;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: {@code kill -9} of a relay. Real processes on loopback: {@code relaymesh server}, three
 * {@code relaymesh relay}s (regions r1..r3), {@code relaymesh agent} (two tunnels), and the CLI
 * with the real OpenSSH client. The relay the CLI has chosen and remembered, which also holds one
 * of the agent's tunnels, is killed with SIGKILL (no drain, no deregistration); measured and
 * printed: how long until a new {@code relaymesh ssh} succeeds (the CLI falls back from the dead
 * relay it remembered) and how long until the agent holds two tunnels again (a replacement on the
 * third relay).
 */
@Timeout(240)
class RelayKillE2ETest {

  static final String PASSWORD = "kill-test-admin-password";
  static Path tmp;
  static Children cli;
  static Child server;
  static Child agent;
  static final Map<String, Child> relays = new LinkedHashMap<>();
  static final Map<String, Integer> ports = new LinkedHashMap<>();
  static String controlUrl;

  @BeforeAll
  static void start() throws Exception {
    tmp = Files.createTempDirectory("relaymesh-kill-");
    Path bundle = tmp.resolve("relays-ca.pem");
    cli = new Children(tmp, tmp.resolve("config"), Map.of("RELAYMESH_CA_CERT", bundle.toString()));
    server = cli.start(daemon("server", "--data-dir", tmp.resolve("data").toString(),
        "--listen", "127.0.0.1:0", "--no-builtin-relay", "--create-admin", "admin",
        "--password-stdin", "--heartbeat-timeout", "6s"),
        (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8));
    Pattern listening = Pattern.compile("control plane listening on (http://127\\.0\\.0\\.1:\\d+)");
    Children.await(Duration.ofSeconds(90), () -> "the control plane listening:\n" + server,
        () -> listening.matcher(server.stdout()).find() || !server.process().isAlive());
    Matcher m = listening.matcher(server.stdout());
    assertThat(m.find()).as("control plane exited:\n%s", server).isTrue();
    controlUrl = m.group(1);
    Result login = cli.run(Duration.ofSeconds(60), (PASSWORD + "\n").getBytes(StandardCharsets.UTF_8),
        cli.cli("login", controlUrl, "-u", "admin", "--password-stdin"));
    assertThat(login.exit()).as("%s", login).isZero();

    StringBuilder pems = new StringBuilder();
    for (String region : List.of("r1", "r2", "r3")) {
      Result created = cli.cliRun("relays", "create", region);
      assertThat(created.exit()).as("%s", created).isZero();
      String token = DevSshE2ETest.after(created.out(), "relay token (shown only once): ");
      Child relay = cli.withEnv(Map.of("RELAYMESH_RELAY_TOKEN", token,
          "RELAYMESH_RELAY_TLS_STATE_DIR", tmp.resolve("tls-" + region).toString()))
          .start(daemon("relay", "--control-url", controlUrl, "--region", region,
              "--replica-id", region + "-a", "--listen", "127.0.0.1:0"), null);
      Pattern url = Pattern.compile("listening on https://127\\.0\\.0\\.1:(\\d+)");
      Children.await(Duration.ofSeconds(60), () -> "relay " + region + " listening:\n" + relay,
          () -> url.matcher(relay.stdout()).find() || !relay.process().isAlive());
      Matcher u = url.matcher(relay.stdout());
      assertThat(u.find()).as("relay %s exited:\n%s", region, relay).isTrue();
      relays.put(region, relay);
      ports.put(region, Integer.parseInt(u.group(1)));
      pems.append(Files.readString(DevSshE2ETest.firstPem(tmp.resolve("tls-" + region))))
          .append('\n');
    }
    Files.writeString(bundle, pems.toString());
    Children.await(Duration.ofSeconds(60), () -> "three healthy relays: " + api("/api/v1/relays"),
        () -> healthyRegions().size() == 3);

    Result ws = cli.cliRun("workspaces", "create", "dev");
    assertThat(ws.exit()).as("%s", ws).isZero();
    String agentToken = DevSshE2ETest.after(ws.out(), "agent token (shown only once): ");
    agent = cli.withEnv(Map.of("RELAYMESH_AGENT_TOKEN", agentToken)).start(daemon("agent",
        "--url", controlUrl, "--ca-cert", bundle.toString(),
        "--state-dir", tmp.resolve("agent").toString()), null);
    Children.await(Duration.ofSeconds(60), () -> "the agent on 2 relays: " + api("/api/v1/workspaces")
        + "\nagent:\n" + agent, () -> agentRegions().size() == 2);
  }

  @AfterAll
  static void stop() throws Exception {
    if (cli == null) {
      return;
    }
    List<Child> all = new ArrayList<>();
    if (agent != null) {
      all.add(agent);
    }
    all.addAll(relays.values());
    all.forEach(c -> Children.stop(c.process(), Duration.ofSeconds(15)));
    if (server != null) {
      Children.stop(server.process(), Duration.ofSeconds(30));
    }
    cli.close();
    Children.await(Duration.ofSeconds(15), () -> "no process left using " + tmp + ": "
        + Children.processesMentioning(tmp.toString()),
        () -> Children.processesMentioning(tmp.toString()).isEmpty());
    if (!Boolean.getBoolean("relaymesh.e2e.keep")) {
      try (java.util.stream.Stream<Path> files = Files.walk(tmp)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void afterKill9OfARelayClientsAndTheAgentAreBackWithinSeconds() throws Exception {
    // a first ssh: the CLI measures, chooses a relay and remembers it
    Result first = cli.cliRun("ssh", "dev", "--", "echo", "before");
    assertThat(first.exit()).as("%s", first).isZero();
    assertThat(first.out()).isEqualTo("before\n");
    JsonObject choices = new JsonObject(Files.readString(cli.configDir.resolve("relay-choice.json")));
    String remembered = choices.encode();
    Set<String> held = agentRegions();
    // the relay to kill: the CLI's remembered one if it holds an agent tunnel, else one that does
    String victim = held.stream().filter(r -> remembered.contains(":" + ports.get(r)))
        .findFirst().orElse(held.iterator().next());
    String spare = ports.keySet().stream().filter(r -> !held.contains(r)).findFirst().orElseThrow();

    long t0 = System.nanoTime();
    relays.get(victim).process().destroyForcibly(); // SIGKILL: no GOAWAY, no deregistration
    relays.get(victim).process().waitFor();
    long killed = System.nanoTime();

    // a new ssh as soon as possible (each attempt is a fresh CLI process, as a user would run it)
    Result again = null;
    long sshOk = -1;
    for (int i = 0; i < 10 && sshOk < 0; i++) {
      again = cli.cliRun("ssh", "dev", "--", "echo", "after");
      if (again.exit() == 0 && again.out().equals("after\n")) {
        sshOk = System.nanoTime();
      }
    }
    assertThat(sshOk).as("no ssh succeeded after the kill: %s", again).isPositive();
    // the agent replaces the lost tunnel on the spare relay
    Children.await(Duration.ofSeconds(60), () -> "the agent on " + spare + " too: "
        + api("/api/v1/workspaces") + "\nagent:\n" + agent,
        () -> agentRegions().contains(spare));
    long agentBack = System.nanoTime();

    double sshMs = (sshOk - killed) / 1e6;
    double agentMs = (agentBack - killed) / 1e6;
    System.out.printf("relay-kill: killed %s (the CLI's remembered relay: %s); first new `relaymesh"
        + " ssh` succeeded %.0f ms after the kill (one CLI process, incl. its JVM start); agent"
        + " holds a tunnel to %s again %.0f ms after the kill (kill took %.0f ms)%n", victim,
        remembered.contains(":" + ports.get(victim)), sshMs, spare, agentMs, (killed - t0) / 1e6);
    assertThat(sshMs).as("first ssh after kill -9, ms").isLessThan(20_000);
    assertThat(agentMs).as("agent reconnected elsewhere after kill -9, ms").isLessThan(30_000);
  }

  static JsonObject api(String path) {
    return new ControlApi(controlUrl, cli.configDir).get(path);
  }

  static Set<String> healthyRegions() {
    return new ControlApi(controlUrl, cli.configDir).healthyRegions();
  }

  /** Regions of the relays the control plane says hold the agent's tunnels (healthy ones). */
  static Set<String> agentRegions() {
    return new ControlApi(controlUrl, cli.configDir).agentRegions();
  }
}
