package io.relaymesh.bench.e2e;

import io.relaymesh.bench.ControlHttp;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Relaymesh path as separate processes started from the CLI (the launcher script, or
 * {@code java $RELAYMESH_JAVA_OPTS -jar relaymesh.jar}): control plane ({@code server
 * --no-builtin-relay}, embedded PostgreSQL), relay, agent of workspace {@code bench}, and a
 * {@code port-forward} client; the CLI is logged in by writing its credentials file (what
 * {@code relaymesh login} writes) with a session from the control plane's login API. The agent
 * serves its /metrics on a free loopback port; the relay can be restarted (same port, token, TLS
 * material and replica id) with {@link #restartRelay}.
 */
public final class RelaymeshStack {

  public static final String WORKSPACE = "bench";
  static final String USER = "bench";
  public static final String APPS_HOST = "apps.bench.test";
  private static final Pattern FORWARDING = Pattern.compile("forwarding \\S+:(\\d+) -> \\S+ 127\\.0\\.0\\.1:(\\d+)");

  private final Procs procs;
  private final Path dir;
  private final Path jar;
  private final Path launcher;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  public String controlUrl;
  String session;
  public int relayPort;
  public String adminUrl;
  /** http://127.0.0.1:P of the agent's metrics listener */
  public String agentMetricsUrl;
  String fingerprint;
  Path caCert;
  private String relayToken;
  private int relayAdminPort;
  public Procs.Proc server;
  public Procs.Proc relay;
  public Procs.Proc agent;
  public Procs.Proc forward;
  /** remote (target) port -> local port of the port-forward client */
  public final Map<Integer, Integer> forwarded = new LinkedHashMap<>();
  /** JVM options for every process started (RELAYMESH_JAVA_OPTS), or null. */
  public String javaOpts;

  public RelaymeshStack(Procs procs, Path dir, Path jar, Path launcher) {
    this.procs = procs;
    this.dir = dir;
    this.jar = jar.toAbsolutePath();
    this.launcher = launcher == null ? null : launcher.toAbsolutePath();
  }

  /**
   * Checks that the CLI jar is built; the launcher to start it with, or null (said on stderr) when
   * there is none at {@code launcher}: then {@code java -jar}.
   */
  public static Path launcherOf(Path jar, Path launcher) {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " not found: build it (mvn -B -q -DskipTests -pl cli,bench -am package)");
    }
    if (launcher != null && !Files.isExecutable(launcher)) {
      SuiteMain.log("no launcher at " + launcher + ": running java -jar " + jar);
      return null;
    }
    return launcher;
  }

  /** The command line of the CLI with these arguments. */
  public List<String> cli(String... args) {
    List<String> cmd = new ArrayList<>();
    if (launcher != null) {
      cmd.add(launcher.toString());
    } else {
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      String opts = javaOpts != null ? javaOpts : System.getenv("RELAYMESH_JAVA_OPTS");
      if (opts != null && !opts.isBlank()) {
        cmd.addAll(List.of(opts.trim().split("\\s+")));
      }
      cmd.add("-jar");
      cmd.add(jar.toString());
    }
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Environment of the CLI client commands (logged in, trusting the relay's certificate). */
  public Map<String, String> cliEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", dir.resolve("home-cli").toString());
    env.put("RELAYMESH_CONFIG_DIR", dir.resolve("cli-config").toString());
    env.put("RELAYMESH_CA_CERT", caCert.toString());
    env.put("RELAYMESH_JAR", jar.toString()); // also for the ProxyCommand's launcher (see env())
    return env;
  }

  /**
   * {@code base} plus RELAYMESH_JAVA_OPTS when {@link #javaOpts} is set, and RELAYMESH_JAR: the
   * launcher runs the given jar as it is (it would rebuild it when a source file is newer, e.g. one
   * edited during a long run, and a restarted process would wait for Maven).
   */
  private Map<String, String> env(Map<String, String> base) {
    Map<String, String> env = new LinkedHashMap<>(base);
    env.put("RELAYMESH_JAR", jar.toString());
    if (javaOpts != null) {
      env.put("RELAYMESH_JAVA_OPTS", javaOpts);
    }
    return env;
  }

  public void start() throws Exception {
    Files.createDirectories(dir);
    startControlPlane();
    startRelay();
    startAgent();
    login();
  }

  private void startControlPlane() throws Exception {
    int port = Procs.freePort();
    controlUrl = "http://127.0.0.1:" + port;
    byte[] pw = new byte[18];
    new SecureRandom().nextBytes(pw);
    String password = HexFormat.of().formatHex(pw);
    Procs.Proc p = server = procs.start("server", cli("server", "--no-builtin-relay", "--data-dir",
        dir.resolve("server").toString(), "--listen", "127.0.0.1:" + port, "--create-admin", USER,
        "--password-stdin"), env(Map.of("HOME", dir.resolve("home-server").toString())));
    try (OutputStream in = p.process().getOutputStream()) {
      in.write((password + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Procs.await(Duration.ofSeconds(180), "control plane /readyz", p, () -> status(controlUrl + "/readyz") == 200);
    JsonObject creds = new JsonObject().put("username", USER).put("password", password);
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (session == null) {
      try {
        session = post("/api/v1/login", creds, 200).getString("token");
      } catch (IllegalStateException e) { // the admin may be created just after /readyz answers
        if (System.nanoTime() > end) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

  private void startRelay() throws Exception {
    relayToken = post("/api/v1/relays", new JsonObject().put("region", "bench"), 201).getString("relayToken");
    relayPort = Procs.freePort();
    relayAdminPort = Procs.freePort();
    adminUrl = "http://127.0.0.1:" + relayAdminPort;
    launchRelay();
  }

  /**
   * Stops the relay (SIGTERM and up to 60 s to drain and exit, or SIGKILL when {@code kill}) and
   * starts it again on the same ports with the same token, TLS material and replica id; returns
   * once it is ready (the agent reconnects by itself).
   */
  public void restartRelay(boolean kill) throws Exception {
    procs.stop(relay, kill ? null : Duration.ofSeconds(60));
    launchRelay();
  }

  private void launchRelay() throws Exception {
    Path tls = dir.resolve("relay-tls");
    relay = procs.start("relay", cli("relay", "--control-url", controlUrl, "--region", "bench",
        "--replica-id", "bench-1", "--listen", "127.0.0.1:" + relayPort, "--admin-listen", "127.0.0.1:" + relayAdminPort,
        "--apps-host", APPS_HOST), env(Map.of("HOME", dir.resolve("home-relay").toString(),
        "RELAYMESH_RELAY_TOKEN", relayToken, "RELAYMESH_RELAY_TLS_STATE_DIR", tls.toString(),
        "RELAYMESH_RELAY_DRAIN_TIMEOUT", "2s")));
    Procs.await(Duration.ofSeconds(120), "relay TLS fingerprint", relay, () -> relay.stdout().contains("TLS sha256 ")
        || relay.stderr().contains("TLS sha256 "));
    Matcher m = Pattern.compile("TLS sha256 ([0-9a-fA-F:]+)").matcher(relay.stdout() + relay.stderr());
    if (!m.find()) {
      throw new IllegalStateException("no TLS fingerprint in the relay's output");
    }
    if (fingerprint != null && !fingerprint.equals(m.group(1))) {
      throw new IllegalStateException("the restarted relay has another TLS fingerprint: " + m.group(1));
    }
    fingerprint = m.group(1);
    Procs.await(Duration.ofSeconds(60), "relay /readyz", relay, () -> status(adminUrl + "/readyz") == 200);
    try (Stream<Path> files = Files.walk(tls)) {
      caCert = files.filter(Files::isRegularFile)
          .filter(f -> Procs.read(f).contains("BEGIN CERTIFICATE")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no certificate PEM under " + tls));
    }
  }

  private void startAgent() throws Exception {
    String agentToken = post("/api/v1/workspaces", new JsonObject().put("name", WORKSPACE), 201).getString("agentToken");
    int metricsPort = Procs.freePort();
    agentMetricsUrl = "http://127.0.0.1:" + metricsPort;
    agent = procs.start("agent", cli("agent", "--url", controlUrl, "--relay-url", "https://127.0.0.1:" + relayPort,
        "--relay-fingerprint", fingerprint, "--state-dir", dir.resolve("agent").toString(),
        "--metrics-address", "127.0.0.1:" + metricsPort),
        env(Map.of("HOME", dir.resolve("home-agent").toString(), "RELAYMESH_AGENT_TOKEN", agentToken)));
    Procs.await(Duration.ofSeconds(90), "the agent's tunnel at the relay", agent,
        () -> metric("relaymesh_relay_agent_tunnels") >= 1);
  }

  private void login() throws IOException {
    Path config = dir.resolve("cli-config");
    Files.createDirectories(config);
    Files.createDirectories(dir.resolve("home-cli"));
    Files.writeString(config.resolve("credentials.json"), new JsonObject().put("url", controlUrl)
        .put("username", USER).put("token", session).encodePrettily());
  }

  /** Starts {@code relaymesh port-forward bench --tcp 0:P ...} for these target ports. */
  public void portForward(List<Integer> targetPorts) throws Exception {
    List<String> args = new ArrayList<>(List.of("port-forward", WORKSPACE));
    for (int p : targetPorts) {
      args.add("--tcp");
      args.add("0:" + p);
    }
    forward = procs.start("port-forward", cli(args.toArray(String[]::new)), env(cliEnv()));
    Procs.await(Duration.ofSeconds(90), "port-forward listening", forward, () -> {
      Matcher m = FORWARDING.matcher(forward.stdout());
      int n = 0;
      while (m.find()) {
        n++;
      }
      return n == targetPorts.size();
    });
    Matcher m = FORWARDING.matcher(forward.stdout());
    while (m.find()) {
      forwarded.put(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(1)));
    }
  }

  /** {@code relaymesh ports share bench PORT --level public}: the app's host name. */
  public String share(int appPort) throws Exception {
    Procs.Result r = Procs.run(cli("ports", "share", WORKSPACE, Integer.toString(appPort), "--level", "public",
        "-o", "json"), cliEnv(), Duration.ofSeconds(60), null);
    if (r.exit() != 0) {
      throw new IllegalStateException("relaymesh ports share: exit " + r.exit() + "\n" + r.err());
    }
    JsonObject o = new JsonObject(r.out().substring(r.out().indexOf('{')));
    JsonArray urls = o.getJsonArray("urls", new JsonArray());
    if (urls.isEmpty()) {
      return o.getString("app") + "." + APPS_HOST;
    }
    return URI.create(urls.getString(0)).getHost();
  }

  /** {@code relaymesh config-ssh --ssh-config FILE -y}. */
  public void configSsh(Path sshConfig) throws Exception {
    Procs.Result r = Procs.run(cli("config-ssh", "--ssh-config", sshConfig.toString(), "-y"), cliEnv(),
        Duration.ofSeconds(60), null);
    if (r.exit() != 0) {
      throw new IllegalStateException("relaymesh config-ssh: exit " + r.exit() + "\n" + r.err());
    }
  }

  /** The relay's measured tunnel round trips: {sum of seconds, count} so far ({0, 0} when not exported). */
  double[] tunnelRtt() {
    try {
      String scrape = scrape();
      return new double[] {sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_sum", "peer=\"agent\""),
          sumSeries(scrape, "relaymesh_relay_tunnel_rtt_seconds_count", "peer=\"agent\"")};
    } catch (Exception e) {
      return new double[] {0, 0};
    }
  }

  /** Sum of a metric over its series on the relay's admin listener; -1 when unreachable. */
  public double metric(String name) {
    try {
      return sumSeries(scrape(), name, "");
    } catch (Exception e) {
      return -1;
    }
  }

  private String scrape() throws Exception {
    return scrape(adminUrl);
  }

  /** GET {@code baseUrl}/metrics (10 s timeout): the exposition text. */
  public String scrape(String baseUrl) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(baseUrl + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(baseUrl + "/metrics: HTTP " + r.statusCode());
    }
    return r.body();
  }

  /**
   * Prometheus text format: the sum of the samples of metric {@code name} over its label sets that
   * contain {@code label} (e.g. {@code peer="agent"}; "" for all); comments and unparsable values
   * skipped.
   */
  public static double sumSeries(String scrape, String name, String label) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (line.length() > name.length() && line.startsWith(name)
          && (line.charAt(name.length()) == '{' || line.charAt(name.length()) == ' ') && line.contains(label)) {
        try {
          double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
          sum += Double.isNaN(v) ? 0 : v;
        } catch (NumberFormatException e) {
          // not a sample value
        }
      }
    }
    return sum;
  }

  private int status(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private JsonObject post(String path, JsonObject body, int expect) throws Exception {
    return ControlHttp.post(http, controlUrl, session, path, body, expect);
  }
}
