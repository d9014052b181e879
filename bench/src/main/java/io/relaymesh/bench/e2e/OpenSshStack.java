package io.relaymesh.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The OpenSSH bastion path: an sshd of its own (config, host key and authorized key generated in
 * a temp dir, 127.0.0.1, a free port) acting as the relay; the "agent side" keeps {@code ssh -N
 * -R} into it, the "client side" {@code ssh -N -L} into it: two encrypted hops. With {@code
 * preload} the sshd runs under {@code LD_PRELOAD} of the TCP_NODELAY shim.
 */
final class OpenSshStack {

  private static final Pattern CIPHER = Pattern.compile("kex: server->client cipher: (\\S+) MAC: (\\S+)");

  private final Procs procs;
  private final Path dir;
  private final Path preload;
  final String name;
  int sshdPort;
  Path clientConfig;
  Procs.Proc sshd;
  Procs.Proc remote;
  Procs.Proc local;
  /** target port -> local port of the ssh -L client */
  final Map<Integer, Integer> forwarded = new LinkedHashMap<>();

  OpenSshStack(Procs procs, Path dir, String name, Path preload) {
    this.procs = procs;
    this.dir = dir;
    this.name = name;
    this.preload = preload;
  }

  static String sshd() {
    return Files.isExecutable(Path.of("/usr/sbin/sshd")) ? "/usr/sbin/sshd" : null;
  }

  void start(List<Integer> targetPorts) throws Exception {
    Files.createDirectories(dir);
    Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory
    keygen(dir.resolve("host_key"));
    keygen(dir.resolve("id_ed25519"));
    Files.copy(dir.resolve("id_ed25519.pub"), dir.resolve("authorized_keys"));
    sshdPort = Procs.freePort();
    Path pid = dir.resolve("sshd.pid");
    Path config = dir.resolve("sshd_config");
    Files.writeString(config, String.join("\n",
        "Port " + sshdPort,
        "ListenAddress 127.0.0.1",
        "HostKey " + dir.resolve("host_key"),
        "PidFile " + pid,
        "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowTcpForwarding yes",
        "PermitTTY no",
        "MaxStartups 1000:30:2000",
        "LogLevel ERROR",
        ""));
    Map<String, String> env = preload == null ? Map.of() : Map.of("LD_PRELOAD", preload.toString());
    sshd = procs.start("sshd-" + name, List.of(sshd(), "-D", "-e", "-f", config.toString()), env);
    procs.pidFile(pid);
    clientConfig = dir.resolve("ssh_config");
    String common = String.join("\n",
        "  HostName 127.0.0.1",
        "  Port " + sshdPort,
        "  User " + System.getProperty("user.name"),
        "  IdentityFile " + dir.resolve("id_ed25519"),
        "  IdentitiesOnly yes",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  BatchMode yes",
        "  LogLevel ERROR",
        "");
    Files.writeString(clientConfig, "Host bastion\n" + common + "Host target\n" + common
        + "  ProxyCommand ssh -F " + clientConfig + " -W %h:%p bastion\n");
    Procs.await(Duration.ofSeconds(20), "sshd listening", sshd, () -> {
      try (var s = Measure.connect(sshdPort)) {
        return true;
      } catch (Exception e) {
        return false;
      }
    });
    List<String> r = new ArrayList<>(List.of("ssh", "-F", clientConfig.toString(), "-N", "-o",
        "ExitOnForwardFailure=yes"));
    List<String> l = new ArrayList<>(List.of("ssh", "-F", clientConfig.toString(), "-N", "-v", "-o",
        "ExitOnForwardFailure=yes"));
    for (int p : targetPorts) {
      int rport = Procs.freePort();
      int lport = Procs.freePort();
      r.addAll(List.of("-R", "127.0.0.1:" + rport + ":127.0.0.1:" + p));
      l.addAll(List.of("-L", "127.0.0.1:" + lport + ":127.0.0.1:" + rport));
      forwarded.put(p, lport);
    }
    r.add("bastion");
    l.add("bastion");
    remote = procs.start("ssh-R-" + name, r, Map.of());
    local = procs.start("ssh-L-" + name, l, Map.of());
    Procs.await(Duration.ofSeconds(30), "ssh -L connected", local, () -> local.stderr().contains("Entering interactive session")
        || local.stderr().contains("pledge: network"));
  }

  /** The cipher (and MAC) the -L connection negotiated, from its {@code -v} log. */
  String cipher() {
    Matcher m = CIPHER.matcher(local.stderr());
    return m.find() ? m.group(1) + (m.group(2).equals("<implicit>") ? "" : " + " + m.group(2)) : "?";
  }

  /** {@code ssh -F cfg target true}: through {@code bastion} (ProxyCommand ssh -W, what -J does). */
  List<String> jumpCommand() {
    return List.of("ssh", "-F", clientConfig.toString(), "target", "true");
  }

  private static void keygen(Path file) throws Exception {
    Procs.Result r = Procs.run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file.toString()),
        Map.of(), Duration.ofSeconds(30), null);
    if (r.exit() != 0) {
      throw new IllegalStateException("ssh-keygen: " + r.err());
    }
  }
}
