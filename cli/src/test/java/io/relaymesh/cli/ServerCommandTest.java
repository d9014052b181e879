package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.CliRunner.Result;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The newcomer's path, with the real {@code relaymesh server} in a child JVM: embedded
 * PostgreSQL in the data dir, --create-admin, the built-in relay (region {@code local})
 * registered and ready, login from the CLI, a workspace and a region, SIGTERM drains the relay
 * and stops everything cleanly, and a restart keeps the data and the relay's certificate.
 */
@Timeout(240)
class ServerCommandTest {

  private static final Pattern LISTENING = Pattern.compile("listening on (http://\\S+)");
  private static final Pattern RELAY = Pattern.compile(
      "^relaymesh built-in relay (\\S+) \\(region local\\) listening on (https://\\S+), TLS sha256 (\\S+)$");

  /** A started server; {@code relay*} are {@code null} without the built-in relay. */
  record Server(Process process, String url, List<String> output, String relayReplica,
      String relayUrl, String relayFingerprint) {
    Server(Process process, String url, List<String> output) {
      this(process, url, output, null, null, null);
    }
  }

  /** {@code relaymesh server} on port 0, its built-in relay on port 0 unless extra says else. */
  static Server startServer(Path dataDir, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "server", "--data-dir", dataDir.toString(), "--listen", "127.0.0.1:0"));
    if (!List.of(extra).contains("--relay-listen")) {
      cmd.addAll(List.of("--relay-listen", "127.0.0.1:0"));
    }
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    return new Server(p, null, new java.util.concurrent.CopyOnWriteArrayList<>());
  }

  static Server awaitListening(Server s, String stdin) throws Exception {
    try (OutputStream in = s.process().getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    BufferedReader r = new BufferedReader(new InputStreamReader(s.process().getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    String url = null;
    Matcher relay = null;
    while ((line = r.readLine()) != null) {
      s.output().add(line);
      Matcher m = LISTENING.matcher(line);
      Matcher rm = RELAY.matcher(line);
      if (rm.find()) {
        relay = rm;
      } else if (url == null && m.find()) {
        url = m.group(1);
      }
      if (line.startsWith("log in with: ")) { // the last line of the start
        Thread drain = new Thread(() -> r.lines().forEach(s.output()::add));
        drain.setDaemon(true);
        drain.start();
        return relay == null ? new Server(s.process(), url, s.output())
            : new Server(s.process(), url, s.output(), relay.group(1), relay.group(2),
                relay.group(3));
      }
    }
    throw new AssertionError("server exited before listening: " + String.join("\n", s.output()));
  }

  static void sigterm(Server s) throws Exception {
    // SIGTERM; through the handle, since Process.destroy() also closes the output pipe, which
    // would lose the lines of the shutdown
    s.process().toHandle().destroy();
    assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).as("server stopped").isTrue();
    // a JVM ended by SIGTERM after its shutdown hooks ran exits with 143
    assertThat(s.process().exitValue()).isIn(0, 143);
  }

  @Test
  void newcomerFlowFromServerStartToWorkspaceAndRegion(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    CliRunner cli = new CliRunner(tmp.resolve("config"));
    // a stale relay token in the data dir (say, from a database that was reset): replaced
    String stale = "rmr_" + "A".repeat(43);
    Files.createDirectories(data.resolve("builtin-relay"));
    Files.writeString(data.resolve("builtin-relay/relay-token"), stale + "\n");
    // info: the relay's drain is logged (the child's classpath has a test logback config at warn)
    Server server = startServer(data, "--create-admin", "root", "--password-stdin",
        "--log-level", "info");
    try {
      server = awaitListening(server, "admin password 1\n");
      assertThat(server.output()).anyMatch(l -> l.equals("created admin user 'root'"));
      assertThat(Files.exists(data.resolve("postgres/PG_VERSION"))).isTrue();

      Result login = cli.run("admin password 1\n", "login", server.url(), "-u", "root",
          "--password-stdin");
      assertThat(login.exit()).as(login.toString()).isZero();
      assertThat(login.out()).contains("as root (admin)");
      assertThat(cli.run(null, "workspaces", "create", "dev").exit()).isZero();
      assertThat(cli.run(null, "relays", "create", "eu").exit()).isZero();

      // the built-in relay: printed after the control plane's line, registered, ready
      assertThat(server.relayUrl()).as(String.join("\n", server.output()))
          .startsWith("https://127.0.0.1:");
      assertThat(server.relayReplica()).matches("local-[0-9a-f]{8}");
      String token = apiLogin(server.url(), "root", "admin password 1");
      assertBuiltinRelayRegistered(server, token);
      assertThat(https(server.relayUrl(), "/readyz", server.relayFingerprint()).status())
          .isEqualTo(200);
      assertThat(cli.run(null, "relays", "list").out())
          .containsPattern("local +" + server.relayReplica() + " +healthy +" + server.relayUrl());
      // both components in the process expose only documented metrics
      assertThat(MetricsDoc.load().undocumented(https(server.relayUrl(), "/metrics",
          server.relayFingerprint()).body())).isEmpty();
      assertThat(MetricsDoc.load().undocumented(get(server.url() + "/metrics", null))).isEmpty();
    } finally {
      sigterm(server);
    }
    assertThat(data.resolve("postgres/postmaster.pid")).as("PostgreSQL stopped").doesNotExist();
    // SIGTERM: the relay drained and deregistered while the control plane still ran
    awaitOutput(server, "deregistered from the control plane");
    assertThat(server.output()).noneMatch(l -> l.contains("could not deregister"));
    Path tokenFile = data.resolve("builtin-relay/relay-token");
    assertThat(Files.getPosixFilePermissions(tokenFile))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    String relayToken = Files.readString(tokenFile).trim();
    assertThat(relayToken).startsWith("rmr_").isNotEqualTo(stale);
    String first = String.join("\n", server.output());
    assertThat(first).doesNotContain(relayToken);

    // --create-admin for an existing user: one clear line, exit 1, PostgreSQL stopped again
    Server dup = startServer(data, "--create-admin", "root", "--password-stdin");
    try (OutputStream in = dup.process().getOutputStream()) {
      in.write("another password\n".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(dup.process().waitFor(120, TimeUnit.SECONDS)).isTrue();
    String dupOut = new String(dup.process().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(dup.process().exitValue()).as(dupOut).isEqualTo(1);
    assertThat(dupOut).contains("relaymesh: user 'root' already exists\n").doesNotContain("\tat ");
    assertThat(data.resolve("postgres/postmaster.pid")).doesNotExist();

    // restart without --create-admin: the data is still there
    Server again = awaitListening(startServer(data), null);
    try {
      cli = new CliRunner(tmp.resolve("config2"));
      assertThat(cli.run("admin password 1\n", "login", again.url(), "-u", "root",
          "--password-stdin").exit()).isZero();
      assertThat(cli.run(null, "workspaces", "list").out()).contains("root/dev");
      assertThat(cli.run(null, "relays", "list").out()).contains("eu");
      // the same relay again: certificate, replica id and token kept in the data dir
      assertThat(again.relayFingerprint()).isEqualTo(server.relayFingerprint());
      assertThat(again.relayReplica()).isEqualTo(server.relayReplica());
      assertBuiltinRelayRegistered(again, apiLogin(again.url(), "root", "admin password 1"));
      assertThat(Files.readString(tokenFile).trim()).isEqualTo(relayToken);
    } finally {
      sigterm(again);
    }
    assertThat(data.resolve("postgres/postmaster.pid")).doesNotExist();
  }

  @Test
  void noBuiltinRelayStartsNone(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Server server = awaitListening(startServer(data, "--no-builtin-relay", "--create-admin",
        "root", "--password-stdin"), "admin password 1\n");
    try {
      assertThat(server.relayUrl()).isNull();
      assertThat(server.output()).noneMatch(l -> l.contains("built-in relay"))
          .noneMatch(l -> l.contains("not part of this build"));
      JsonArray regions = new JsonObject(get(server.url() + "/api/v1/relays",
          apiLogin(server.url(), "root", "admin password 1"))).getJsonArray("regions");
      assertThat(regions).isEmpty();
      assertThat(data.resolve("builtin-relay")).doesNotExist();
    } finally {
      sigterm(server);
    }
  }

  @Test
  void relayPortTakenFailsWithOneLineNamingTheSetting(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String listen = "127.0.0.1:" + taken.getLocalPort();
      Server s = startServer(data, "--relay-listen", listen);
      s.process().getOutputStream().close();
      assertThat(s.process().waitFor(120, TimeUnit.SECONDS)).isTrue();
      String out = new String(s.process().getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(s.process().exitValue()).as(out).isEqualTo(1);
      assertThat(out).contains("relaymesh: cannot start the built-in relay on " + listen
          + ": the port is in use; choose another with server.relay-listen (--relay-listen,"
          + " RELAYMESH_SERVER_RELAY_LISTEN), or turn it off with --no-builtin-relay\n")
          .doesNotContain("\tat ").doesNotContain("listening on http");
    }
    assertThat(data.resolve("postgres/postmaster.pid")).as("PostgreSQL stopped").doesNotExist();
  }

  /** Waits (bounded) until the drain thread has read a line containing {@code text}. */
  static void awaitOutput(Server s, String text) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (s.output().stream().noneMatch(l -> l.contains(text)) && System.nanoTime() < end) {
      Thread.sleep(50);
    }
    assertThat(s.output()).as("output").anyMatch(l -> l.contains(text));
  }

  /** Region {@code local} is healthy with exactly the built-in relay, as it was printed. */
  static void assertBuiltinRelayRegistered(Server server, String token) throws Exception {
    JsonArray regions = new JsonObject(get(server.url() + "/api/v1/relays", token))
        .getJsonArray("regions");
    JsonObject local = null;
    for (int i = 0; i < regions.size(); i++) {
      if (regions.getJsonObject(i).getString("region").equals("local")) {
        local = regions.getJsonObject(i);
      }
    }
    assertThat(local).as(regions.encode()).isNotNull();
    assertThat(local.getBoolean("healthy")).as(local.encode()).isTrue();
    assertThat(local.getJsonArray("replicas")).as(local.encode()).hasSize(1);
    JsonObject replica = local.getJsonArray("replicas").getJsonObject(0);
    assertThat(replica.getString("replicaId")).isEqualTo(server.relayReplica());
    assertThat(replica.getString("publicUrl")).isEqualTo(server.relayUrl());
    assertThat(replica.getString("tlsFingerprint")).isEqualToIgnoringCase(server.relayFingerprint());
    assertThat(replica.getBoolean("healthy")).isTrue();
  }

  static String apiLogin(String url, String user, String password) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(url + "/api/v1/login")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", user)
            .put("password", password).encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body()).getString("token");
  }

  static String get(String url, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(url + ": " + r.body()).isEqualTo(200);
    return r.body();
  }

  record Reply(int status, String body) {}

  /**
   * GET over TLS (HTTP/1.1, no ALPN) trusting exactly the certificate with {@code fingerprint},
   * the pinning a client does with the printed fingerprint.
   */
  static Reply https(String baseUrl, String path, String fingerprint) throws Exception {
    URI u = URI.create(baseUrl);
    X509TrustManager pinned = new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {
        throw new UnsupportedOperationException();
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        try {
          String fp = HexFormat.ofDelimiter(":").withUpperCase().formatHex(
              MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded()));
          if (!fp.equalsIgnoreCase(fingerprint)) {
            throw new CertificateException("fingerprint " + fp + " is not " + fingerprint);
          }
        } catch (java.security.NoSuchAlgorithmException e) {
          throw new CertificateException(e);
        }
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {pinned}, null);
    try (SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket()) {
      socket.connect(new InetSocketAddress(u.getHost(), u.getPort()), 10_000);
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + u.getHost() + ":"
          + u.getPort() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String raw = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int end = raw.indexOf("\r\n\r\n");
      String head = raw.substring(0, end);
      String body = raw.substring(end + 4);
      if (head.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        StringBuilder b = new StringBuilder();
        int i = 0;
        while (true) {
          int eol = body.indexOf("\r\n", i);
          int size = Integer.parseInt(body.substring(i, eol).trim(), 16);
          if (size == 0) {
            break;
          }
          b.append(body, eol + 2, eol + 2 + size); // metrics text is ASCII: chars == bytes
          i = eol + 2 + size + 2;
        }
        body = b.toString();
      }
      return new Reply(Integer.parseInt(head.split(" ")[1]), body);
    }
  }

  @Test
  void invalidOptionsFailWithOneLine(@TempDir Path tmp) throws Exception {
    CliRunner cli = new CliRunner(tmp);
    Result r = cli.run(null, "server", "--password-stdin");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).isEqualTo("relaymesh: --password-stdin needs --create-admin USER\n");
    Result bad = cli.run(null, "server", "--listen", "nonsense", "--data-dir", tmp.toString());
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).isEqualTo(
        "relaymesh: invalid configuration: server.listen: expected host:port, got \"nonsense\"\n");
    Result badTtl = cli.run(null, "server", "--ticket-ttl", "1h", "--data-dir", tmp.toString());
    assertThat(badTtl.err()).isEqualTo(
        "relaymesh: invalid configuration: server.ticket-ttl: must be between 10s and 10m, got 1h\n");
    // the same keys from the environment and from a YAML file (flags > env > file)
    Result env = cli.runWithEnv(java.util.Map.of("RELAYMESH_SERVER_HEARTBEAT_TIMEOUT", "0s"), null,
        "server", "--data-dir", tmp.toString());
    assertThat(env.err()).isEqualTo(
        "relaymesh: invalid configuration: server.heartbeat-timeout: must be positive, got 0s\n");
    java.nio.file.Path yaml = tmp.resolve("server.yaml");
    java.nio.file.Files.writeString(yaml, "server:\n  key-rotation: 0s\n  listen: 127.0.0.1:0\n");
    Result file = cli.run(null, "server", "--config", yaml.toString(), "--data-dir", tmp.toString());
    assertThat(file.err()).isEqualTo(
        "relaymesh: invalid configuration: server.key-rotation: must be positive, got 0s\n");
    Result typo = cli.runWithEnv(java.util.Map.of("RELAYMESH_SERVER_POSTGRESS_URL", "x"), null,
        "server", "--data-dir", tmp.toString());
    assertThat(typo.exit()).isEqualTo(1);
    assertThat(typo.err()).contains("RELAYMESH_SERVER_POSTGRESS_URL: unknown environment variable");
    assertThat(tmp.resolve("postgres")).doesNotExist();
    // the built-in relay's settings
    Result relayListen = cli.run(null, "server", "--relay-listen", "nonsense", "--data-dir",
        tmp.toString());
    assertThat(relayListen.err()).isEqualTo("relaymesh: invalid configuration: "
        + "server.relay-listen: expected host:port, got \"nonsense\"\n");
    Path cert = Files.writeString(tmp.resolve("cert.pem"), "x");
    Result halfTls = cli.run(null, "server", "--relay-tls-cert", cert.toString(), "--data-dir",
        tmp.toString());
    assertThat(halfTls.err()).isEqualTo("relaymesh: invalid configuration: "
        + "server.relay-tls-key: required when server.relay-tls-cert is set\n");
    assertThat(tmp.resolve("postgres")).doesNotExist();
  }
}
