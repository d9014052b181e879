package io.relaymesh.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.e2e.Children.Child;
import io.relaymesh.cli.e2e.Children.Result;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
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
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 4 end to end: one {@code relaymesh dev} child (control plane + embedded PostgreSQL +
 * relay + workspace {@code dev} with its agent) from a fresh data dir, driven by the real
 * OpenSSH client ({@code ssh}, {@code sftp}, {@code script} for a terminal) and by the CLI in
 * child JVMs. Nothing runs in the test JVM but the echo server and the assertions.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DevSshE2ETest {

  static Path tmp;
  static Path data;
  static DevProcess devProcess;
  static Children cli;
  static Child dev;
  static JsonObject devJson;
  static Path sshConfig;
  static EchoServer echo;

  @BeforeAll
  static void startDev() throws Exception {
    echo = new EchoServer();
    devProcess = DevProcess.start("relaymesh-e2e-");
    tmp = devProcess.tmp;
    data = devProcess.data;
    cli = devProcess.cli;
    dev = devProcess.dev;
    devJson = devProcess.devJson;
    sshConfig = tmp.resolve("ssh_config");
    Result r = cli.cliRun("config-ssh", "-y", "--ssh-config", sshConfig.toString());
    assertThat(r.exit()).as("%s", r).isZero();
  }

  @AfterAll
  static void stopDev() throws Exception {
    if (echo != null) {
      echo.close();
    }
    if (devProcess != null) {
      assertThat(devProcess.stop()).as("relaymesh dev still running 30 s after SIGTERM:\n%s", dev)
          .isTrue();
    }
  }

  static List<String> ssh(String... args) {
    List<String> cmd = new ArrayList<>(List.of("ssh", "-F", sshConfig.toString(),
        "-o", "BatchMode=yes"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  static String adminToken() {
    return devJson.getString("adminToken");
  }

  // ---------------------------------------------------------------- dev, exec, quick start

  @Test
  @Order(1)
  void devStartsFromAFreshDataDirAndLogsTheCliIn() {
    for (String key : List.of("controlUrl", "relayUrl", "caCert", "adminToken", "workspace",
        "agent")) {
      assertThat(devJson.getString(key)).as("dev.json %s in %s", key, devJson).isNotBlank();
    }
    // apps are served under apps.localhost on the relay's port (AppsBrowserE2ETest uses them)
    assertThat(devJson.getString("appsHost")).startsWith("apps.localhost:");
    assertThat(devJson.getString("controlUrl")).startsWith("http://127.0.0.1:");
    assertThat(devJson.getString("relayUrl")).startsWith("https://127.0.0.1:");
    assertThat(devJson.getString("caCert")).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(devJson.getString("workspace")).isEqualTo("dev");
    assertThat(devJson.getString("agent")).isEqualTo("main");
    assertThat(Files.isRegularFile(cli.configDir.resolve("credentials.json"))).isTrue();
    assertThat(Files.isRegularFile(cli.configDir.resolve("relay-ca.pem"))).isTrue();

    // the embedded PostgreSQL is visible as a process of the data dir (what @AfterAll checks)
    assertThat(Children.processesMentioning(data.toString()))
        .anySatisfy(l -> assertThat(l).contains("postgres"));

    Result who = cli.cliRun("whoami");
    assertThat(who.exit()).as("%s", who).isZero();
    assertThat(who.out()).as("%s", who).contains("admin");
  }

  @Test
  @Order(2)
  void execThroughConfigSshKeepsStdoutStderrAndExitCode() throws IOException {
    String config = Files.readString(sshConfig);
    assertThat(config).contains("Host relaymesh.*")
        .contains("ProxyCommand " + cli.self + " ssh --stdio %h");

    Result r = cli.run(Duration.ofSeconds(60),
        ssh("relaymesh.dev", "echo out; echo err >&2; exit 7"));
    assertThat(r.exit()).as("%s", r).isEqualTo(7);
    assertThat(r.out()).as("%s", r).isEqualTo("out\n");
    assertThat(r.err()).as("%s", r).isEqualTo("err\n");
  }

  @Test
  @Order(3)
  void relaymeshSshRunsTheSystemSshClient() {
    Result r = cli.cliRun("ssh", "dev", "--", "echo", "sum=$((6*7))", "in", "$PWD");
    assertThat(r.exit()).as("%s", r).isZero();
    // the remote shell expanded the arguments: it ran in the workspace, not locally
    assertThat(r.out()).as("%s", r).startsWith("sum=42 in /");
  }

  /** The commands `relaymesh dev` prints under "try:", run as written (./relaymesh = the CLI). */
  @Test
  @Order(4)
  void quickStartCommandsPrintedByDevWorkAsWritten() throws Exception {
    List<String> tries = dev.stdout().lines()
        .filter(l -> l.startsWith("try:") || l.startsWith("      ./relaymesh"))
        .map(l -> l.replaceFirst("^(try:)?\\s+", "")).toList();
    assertThat(tries).as("try: lines of\n%s", dev.stdout()).contains(
        "./relaymesh ssh dev -- uname -a", "./relaymesh config-ssh -y && ssh relaymesh.dev");

    Result uname = cli.run(Duration.ofSeconds(60), cli.cli("ssh", "dev", "--", "uname", "-a"));
    Result local = cli.run(Duration.ofSeconds(10), List.of("uname", "-a"));
    assertThat(uname.exit()).as("%s", uname).isZero();
    assertThat(uname.out()).as("%s", uname).isEqualTo(local.out());

    // config-ssh without --ssh-config writes $HOME/.ssh/config (HOME is the test's)
    Result cfg = cli.cliRun("config-ssh", "-y");
    assertThat(cfg.exit()).as("%s", cfg).isZero();
    Path userConfig = cli.home.resolve(".ssh").resolve("config");
    assertThat(Files.readString(userConfig)).contains("Host relaymesh.*");
    // OpenSSH reads the passwd home, not $HOME: point it at the file config-ssh wrote
    Result plain = cli.run(Duration.ofSeconds(60), List.of("ssh", "-F", userConfig.toString(),
        "-o", "BatchMode=yes", "relaymesh.dev", "echo quick-$((1+1))"));
    assertThat(plain.exit()).as("%s", plain).isZero();
    assertThat(plain.out()).isEqualTo("quick-2\n");
  }

  // ---------------------------------------------------------------- terminal

  /**
   * {@code ssh -tt} under {@code script} (a real local terminal of 91x33): the remote side has a
   * pty of that size; then the local terminal is resized with {@code stty -F} (the kernel sends
   * SIGWINCH to ssh, which sends window-change) and a newline typed into the terminal lets the
   * remote command print its size again.
   */
  @Test
  @Order(5)
  void ptySessionHasATtyAndFollowsAResize() throws Exception {
    Path ttyName = tmp.resolve("local-tty");
    Path out = tmp.resolve("logs").resolve("script.out");
    String inner = "tty > '" + ttyName + "'; stty cols 91 rows 33; exec ssh -F '" + sshConfig
        + "' -o BatchMode=yes -tt relaymesh.dev 'tty; stty size; read x; echo resized; stty size'";
    ProcessBuilder pb = new ProcessBuilder("script", "-qec", inner, "/dev/null")
        .redirectOutput(out.toFile()).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(cli.env());
    Process script = pb.start();
    try (OutputStream typed = script.getOutputStream()) {
      Children.await(Duration.ofSeconds(60), () -> "'33 91' from the remote pty, got:\n"
          + Children.read(out), () -> Children.read(out).contains("33 91"));
      String first = Children.read(out);
      Matcher m = Pattern.compile("(/dev/pts/\\d+)\r\n33 91\r\n").matcher(first);
      assertThat(m.find()).as("remote tty and size in %s", escape(first)).isTrue();

      String local = Files.readString(ttyName).trim();
      Result stty = cli.run(Duration.ofSeconds(10),
          List.of("stty", "-F", local, "cols", "120", "rows", "40"));
      assertThat(stty.exit()).as("%s", stty).isZero();
      typed.write('\r');
      typed.flush();
      Children.await(Duration.ofSeconds(30), () -> "the size after the resize, got:\n"
          + Children.read(out), () -> Children.read(out).contains("resized\r\n40 120\r\n"));
      assertThat(script.waitFor(30, TimeUnit.SECONDS)).as("ssh -tt exits").isTrue();
      assertThat(script.exitValue()).as(Children.read(out)).isZero();
    } finally {
      Children.stop(script, Duration.ofSeconds(5));
    }
  }

  // ---------------------------------------------------------------- sftp, forwards

  @Test
  @Order(6)
  void sftpUploadAndDownloadOf50MiBKeepEveryByte() throws Exception {
    Path up = tmp.resolve("up.bin");
    Path remote = tmp.resolve("remote").resolve("uploaded.bin");
    Path down = tmp.resolve("down.bin");
    Files.createDirectories(remote.getParent());
    byte[] content = new byte[50 << 20];
    new Random(4).nextBytes(content);
    Files.write(up, content);
    String sha = sha256(content);
    content = null;
    Path batch = tmp.resolve("sftp.batch");
    Files.writeString(batch, "put " + up + " " + remote + "\nget " + remote + " " + down + "\n");

    Result r = cli.run(Duration.ofSeconds(90), List.of("sftp", "-F", sshConfig.toString(),
        "-o", "BatchMode=yes", "-b", batch.toString(), "relaymesh.dev"));
    assertThat(r.exit()).as("%s", r).isZero();

    Result remoteSum = cli.run(Duration.ofSeconds(60), ssh("relaymesh.dev", "sha256sum " + remote));
    assertThat(remoteSum.exit()).as("%s", remoteSum).isZero();
    assertThat(remoteSum.out()).as("sha256 in the workspace").startsWith(sha + " ");
    assertThat(sha256(Files.readAllBytes(down))).as("sha256 of the download").isEqualTo(sha);
    Files.delete(up);
    Files.delete(down);
    Files.delete(remote);
  }

  @Test
  @Order(7)
  void sshLocalForwardReachesAWorkspacePortByteExact() throws Exception {
    int local = EchoServer.closedPort();
    Child fwd = cli.start(ssh("-N", "-o", "ExitOnForwardFailure=yes",
        "-L", "127.0.0.1:" + local + ":127.0.0.1:" + echo.port(), "relaymesh.dev"), null);
    try {
      Children.await(Duration.ofSeconds(60), () -> "ssh -L listening on " + local,
          () -> canConnect(local) || !fwd.process().isAlive());
      assertThat(fwd.process().isAlive()).as("ssh -L exited:\n%s", fwd).isTrue();
      byte[] data = randomBytes(1 << 20, 7);
      assertThat(echoThrough(local, data)).as("echo through ssh -L").isEqualTo(data);
    } finally {
      Children.stop(fwd.process(), Duration.ofSeconds(5));
    }

    // -W: stdin/stdout of ssh itself are the connection
    byte[] data = randomBytes(256 << 10, 8);
    Result w = cli.run(Duration.ofSeconds(60), data,
        ssh("-W", "127.0.0.1:" + echo.port(), "relaymesh.dev"));
    assertThat(w.exit()).as("%s", w).isZero();
    assertThat(w.outBytes()).as("echo through ssh -W").isEqualTo(data);

    // a closed target port: the agent refuses the channel, OpenSSH (LogLevel ERROR) says so
    int closed = EchoServer.closedPort();
    Result refused = cli.run(Duration.ofSeconds(60), new byte[0],
        ssh("-W", "127.0.0.1:" + closed, "relaymesh.dev"));
    assertThat(refused.exit()).as("%s", refused).isNotZero();
    assertThat(refused.err()).as("%s", refused).contains("stdio forwarding failed");
  }

  @Test
  @Order(8)
  void portForwardOf200ConcurrentConnectionsIsByteExactAndAClosedPortIsReported()
      throws Exception {
    int closed = EchoServer.closedPort();
    Child fwd = cli.start(cli.cli("port-forward", "dev", "--tcp", "0:" + echo.port(),
        "--tcp", "0:" + closed), null);
    ExecutorService pool = Executors.newFixedThreadPool(400);
    try {
      Pattern line = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) -> dev 127\\.0\\.0\\.1:(\\d+)");
      Children.await(Duration.ofSeconds(60), () -> "two 'forwarding' lines from\n" + fwd,
          () -> line.matcher(fwd.stdout()).results().count() == 2 || !fwd.process().isAlive());
      int toEcho = -1;
      int toClosed = -1;
      Matcher m = line.matcher(fwd.stdout());
      while (m.find()) {
        int remote = Integer.parseInt(m.group(2));
        if (remote == echo.port()) {
          toEcho = Integer.parseInt(m.group(1));
        } else if (remote == closed) {
          toClosed = Integer.parseInt(m.group(1));
        }
      }
      assertThat(toEcho).as("%s", fwd).isPositive();
      assertThat(toClosed).as("%s", fwd).isPositive();

      int port = toEcho;
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        int seed = i;
        results.add(pool.submit(() -> {
          byte[] data = randomBytes(64 << 10, 1000 + seed);
          return Arrays.equals(echoExactly(port, data, pool), data);
        }));
      }
      int ok = 0;
      for (Future<Boolean> f : results) {
        if (f.get(90, TimeUnit.SECONDS)) {
          ok++;
        }
      }
      assertThat(ok).as("connections echoed byte-exact").isEqualTo(200);

      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), toClosed)) {
        s.setSoTimeout(30_000);
        int first;
        try {
          first = s.getInputStream().read();
        } catch (IOException e) {
          first = -1; // reset: closed too
        }
        assertThat(first).as("the forward to a closed port is closed").isEqualTo(-1);
      }
      String refused = "connection refused on 127.0.0.1:" + closed;
      Children.await(Duration.ofSeconds(15), () -> "'" + refused + "' on stderr of\n" + fwd,
          () -> fwd.stderr().contains(refused));
      assertThat(fwd.process().isAlive()).as("port-forward keeps running").isTrue();
    } finally {
      pool.shutdownNow();
      Children.stop(fwd.process(), Duration.ofSeconds(10));
    }
  }

  /**
   * A client that sends its request and then shuts down its output (HTTP/1.0 clients,
   * {@code nc -N}, this test's {@link #echoThrough}) still gets the whole reply through
   * {@code port-forward}, as through {@code ssh -L}
   * ({@link #sshLocalForwardReachesAWorkspacePortByteExact}): the client's FIN is a TCP
   * half-close end to end ({@code StreamBridge.prepare}).
   */
  @Test
  @Order(9)
  void portForwardKeepsTheReplyAfterTheClientHalfCloses() throws Exception {
    Child fwd = cli.start(cli.cli("port-forward", "dev", "--tcp", "0:" + echo.port()), null);
    try {
      Pattern line = Pattern.compile("forwarding 127\\.0\\.0\\.1:(\\d+) ->");
      Children.await(Duration.ofSeconds(60), () -> "a 'forwarding' line from\n" + fwd,
          () -> line.matcher(fwd.stdout()).find() || !fwd.process().isAlive());
      Matcher m = line.matcher(fwd.stdout());
      assertThat(m.find()).as("%s", fwd).isTrue();
      byte[] data = randomBytes(1000, 9);
      assertThat(echoThrough(Integer.parseInt(m.group(1)), data)).isEqualTo(data);
    } finally {
      Children.stop(fwd.process(), Duration.ofSeconds(10));
    }
  }

  // ---------------------------------------------------------------- failure paths

  @Test
  @Order(10)
  void agentOfflineIsAClearErrorWithoutHanging() {
    Result created = cli.cliRun("workspaces", "create", "offline");
    assertThat(created.exit()).as("%s", created).isZero();

    // "within 10 s" is the bound of run(): it fails the test if the CLI hangs
    Result r = cli.run(Duration.ofSeconds(10), new byte[0], cli.cli("ssh", "--stdio", "offline"));
    assertThat(r.exit()).as("%s", r).isNotZero();
    assertThat(r.err().strip().lines()).as("%s", r).hasSize(1);
    assertThat(r.err()).as("%s", r).contains("'main'").contains("offline")
        .contains("not connected");

    Result viaSsh = cli.run(Duration.ofSeconds(15), ssh("relaymesh.offline", "true"));
    assertThat(viaSsh.exit()).as("%s", viaSsh).isNotZero();
    assertThat(viaSsh.err()).as("%s", viaSsh).contains("not connected");
  }

  @Test
  @Order(11)
  void anotherUsersWorkspaceIsNotFound() throws Exception {
    HttpResponse<String> created = control("POST", "/api/v1/users", adminToken(),
        new JsonObject().put("username", "bob").put("password", "bob-password-1").encode());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    Children bob = cli.withConfigDir(tmp.resolve("config-bob"));
    Result login = bob.run(Duration.ofSeconds(60),
        "bob-password-1\n".getBytes(StandardCharsets.UTF_8),
        bob.cli("login", devJson.getString("controlUrl"), "-u", "bob", "--password-stdin"));
    assertThat(login.exit()).as("%s", login).isZero();
    assertThat(login.out()).contains("as bob");

    for (String target : List.of("admin/dev", "dev", "relaymesh.admin--dev")) {
      Result r = bob.run(Duration.ofSeconds(15), new byte[0], bob.cli("ssh", "--stdio", target));
      assertThat(r.exit()).as("%s: %s", target, r).isNotZero();
      assertThat(r.err().strip().lines()).as("%s: %s", target, r).hasSize(1);
      assertThat(r.err()).as("%s: %s", target, r).containsIgnoringCase("not found");
    }
  }

  /**
   * The relay's client endpoint with a real ticket (101), a ticket whose claims were changed
   * after signing (another workspace, same signature) and garbage: both 401 with the reason.
   */
  @Test
  @Order(12)
  void relayRejectsForgedAndMalformedTickets() throws Exception {
    HttpResponse<String> t = control("POST", "/api/v1/tickets", adminToken(),
        new JsonObject().put("workspace", "dev").put("port", 22).encode());
    assertThat(t.statusCode()).as(t.body()).isEqualTo(201);
    String ticket = new JsonObject(t.body()).getString("ticket");

    assertThat(upgrade(ticket)).startsWith("HTTP/1.1 101");

    String[] parts = ticket.split("\\.");
    JsonObject claims = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]),
        StandardCharsets.UTF_8));
    claims.put("workspace", "bob/dev").put("port", 2222);
    String forged = parts[0] + "."
        + Base64.getUrlEncoder().withoutPadding().encodeToString(
            claims.encode().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    String forgedAnswer = upgrade(forged);
    assertThat(forgedAnswer).startsWith("HTTP/1.1 401").contains("\"code\":\"ticket_bad_signature\"");

    String garbage = upgrade("not-a-ticket");
    assertThat(garbage).startsWith("HTTP/1.1 401").contains("\"code\":\"ticket_malformed\"");
  }

  // ---------------------------------------------------------------- relay killed

  /**
   * A second region {@code r2} whose relay and agent are separate processes (same control
   * plane): an SSH session streaming output through that relay; the relay is killed (-9). The
   * ssh client must end with a clear message; the relay comes back on the same port and state
   * dir, and the agent reconnects on its own, so a new ssh works.
   */
  @Test
  @Order(20)
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void relayKilledMidTransferEndsTheClientAndTheAgentReconnects() throws Exception {
    Result region = cli.cliRun("relays", "create", "r2");
    assertThat(region.exit()).as("%s", region).isZero();
    String relayToken = after(region.out(), "relay token (shown only once): ");
    Result ws = cli.cliRun("workspaces", "create", "far");
    assertThat(ws.exit()).as("%s", ws).isZero();
    String agentToken = after(ws.out(), "agent token (shown only once): ");

    int relayPort = EchoServer.closedPort();
    Path relayState = tmp.resolve("r2-tls");
    Children relayProcs = cli.withEnv(java.util.Map.of("RELAYMESH_RELAY_TLS_STATE_DIR",
        relayState.toString(), "RELAYMESH_RELAY_TOKEN", relayToken));
    List<String> relayCmd = relayProcs.cli("relay", "--control-url",
        devJson.getString("controlUrl"), "--region", "r2", "--replica-id", "r2-a",
        "--listen", "127.0.0.1:" + relayPort);
    Child relay = startRelay(relayProcs, relayCmd);
    Matcher fp = Pattern.compile("TLS sha256 ([0-9A-Fa-f:]+)").matcher(relay.stdout());
    assertThat(fp.find()).as("%s", relay).isTrue();
    Path relayCert = firstPem(relayState);

    Child agent = cli.withEnv(java.util.Map.of("RELAYMESH_AGENT_TOKEN", agentToken,
        "RELAYMESH_AGENT_RECONNECT_MAX", "2s")).start(cli.cli("agent",
        "--url", devJson.getString("controlUrl"), "--relay-url", "https://127.0.0.1:" + relayPort,
        "--relay-fingerprint", fp.group(1), "--state-dir", tmp.resolve("far-agent").toString()),
        null);
    Children client = cli.withEnv(java.util.Map.of("RELAYMESH_CA_CERT", relayCert.toString()));
    try {
      awaitSsh(client, "far", "the agent of 'far' through relay r2", agent);

      Child stream = client.start(ssh("relaymesh.far",
          "i=0; while echo tick $i; do i=$((i+1)); sleep 0.05; done"), null);
      Children.await(Duration.ofSeconds(60), () -> "ticks streaming through relay r2\n" + stream,
          () -> stream.stdout().contains("tick 5") || !stream.process().isAlive());
      assertThat(stream.process().isAlive()).as("%s", stream).isTrue();

      relay.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      assertThat(stream.process().waitFor(20, TimeUnit.SECONDS))
          .as("ssh still running 20s after the relay died:\n%s", stream).isTrue();
      assertThat(stream.process().exitValue()).as("%s", stream).isNotZero();
      assertThat(stream.stderr()).as("%s", stream).contains("relaymesh: lost the SSH connection"
          + " to workspace 'far' through relay https://127.0.0.1:" + relayPort + ": ");
      assertThat(stream.stderr().lines().filter(l -> l.startsWith("relaymesh: ")).count())
          .as("one clear line from the CLI:\n%s", stream).isEqualTo(1);
      assertThat(stream.stderr()).as("%s", stream).doesNotContain("\tat ");

      relay = startRelay(relayProcs, relayCmd);
      awaitSsh(client, "far", "the agent of 'far' back on the restarted relay", agent);
      assertThat(agent.process().isAlive()).as("%s", agent).isTrue();
    } finally {
      Children.stop(agent.process(), Duration.ofSeconds(15));
      Children.stop(relay.process(), Duration.ofSeconds(15));
    }
  }

  static Child startRelay(Children procs, List<String> cmd) {
    Child relay = procs.start(cmd, null);
    Children.await(Duration.ofSeconds(60), () -> "the relay listening:\n" + relay,
        () -> relay.stdout().contains("listening on") || !relay.process().isAlive());
    assertThat(relay.process().isAlive()).as("relay exited:\n%s", relay).isTrue();
    return relay;
  }

  /** Runs {@code ssh relaymesh.<ws> echo} until it works, for up to 60 s. */
  static void awaitSsh(Children client, String ws, String what, Child agent) {
    long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Result last = null;
    while (System.nanoTime() < end) {
      last = client.run(Duration.ofSeconds(30), ssh("relaymesh." + ws, "echo up-$((2+3))"));
      if (last.exit() == 0 && last.out().equals("up-5\n")) {
        return;
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("waited 60s for " + what + "; last ssh: " + last + "\nagent: " + agent);
  }

  static String after(String text, String prefix) {
    return text.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()).trim())
        .findFirst().orElseThrow(() -> new AssertionError("no '" + prefix + "' in\n" + text));
  }

  static Path firstPem(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).filter(f -> {
        try {
          return Files.readString(f).contains("BEGIN CERTIFICATE");
        } catch (IOException e) {
          return false;
        }
      }).findFirst().orElseThrow(() -> new AssertionError("no certificate in " + dir));
    }
  }

  // ---------------------------------------------------------------- helpers

  static HttpResponse<String> control(String method, String path, String token, String body)
      throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(devJson.getString("controlUrl") + path))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(20)).build();
    return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
  }

  /** A WebSocket upgrade to the relay's client endpoint; the answer's head and some body. */
  static String upgrade(String ticket) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("relay", CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(devJson.getString("caCert").getBytes(StandardCharsets.US_ASCII))));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    URI relay = URI.create(devJson.getString("relayUrl"));
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(relay.getHost(), relay.getPort())) {
      s.setSoTimeout(15_000);
      String req = "GET /api/v1/tunnel/client HTTP/1.1\r\nHost: " + relay.getAuthority() + "\r\n"
          + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
          + "Authorization: Bearer " + ticket + "\r\n\r\n";
      s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      byte[] buf = new byte[4096];
      int n = 0;
      InputStream in = s.getInputStream();
      try {
        int r;
        while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
          n += r;
          String so = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
          if (so.startsWith("HTTP/1.1 101") && so.contains("\r\n\r\n")) {
            break;
          }
          if (so.contains("\r\n\r\n") && so.indexOf("\r\n\r\n") + 4 < n
              && so.substring(so.indexOf("\r\n\r\n")).contains("}")) {
            break;
          }
        }
      } catch (java.net.SocketTimeoutException e) {
        // what arrived is the answer
      }
      return new String(buf, 0, n, StandardCharsets.UTF_8);
    }
  }

  static boolean canConnect(int port) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static byte[] echoThrough(int port, byte[] data) throws Exception {
    ExecutorService writer = Executors.newSingleThreadExecutor();
    try {
      return echoThrough(port, data, writer);
    } finally {
      writer.shutdownNow();
    }
  }

  /** Sends {@code data} (on a writer thread), half-closes, and returns everything read back. */
  static byte[] echoThrough(int port, byte[] data, ExecutorService writers) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(60_000);
      Future<?> w = writers.submit(() -> {
        OutputStream out = s.getOutputStream();
        out.write(data);
        out.flush();
        s.shutdownOutput();
        return null;
      });
      byte[] got = s.getInputStream().readAllBytes();
      w.get(60, TimeUnit.SECONDS);
      return got;
    }
  }

  /**
   * Sends {@code data} (on a writer thread) and reads exactly as many bytes back, without
   * half-closing (see {@link #portForwardKeepsTheReplyAfterTheClientHalfCloses}).
   */
  static byte[] echoExactly(int port, byte[] data, ExecutorService writers) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(60_000);
      Future<?> w = writers.submit(() -> {
        s.getOutputStream().write(data);
        s.getOutputStream().flush();
        return null;
      });
      byte[] got = s.getInputStream().readNBytes(data.length);
      w.get(60, TimeUnit.SECONDS);
      return got;
    }
  }

  static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  static String escape(String s) {
    return s.replace("\r", "\\r").replace("\n", "\\n\n").replace("\0", "\\0");
  }
}
