package io.relaymesh.cli.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * "Regions" as Linux network namespaces: one namespace per region, joined to the root namespace
 * by a veth pair in its own {@code 10.231.X.0/24} (root side {@code .1}, namespace side
 * {@code .2}), with a {@code tc netem} delay on both ends so that the round trip between the
 * root namespace and region N is twice its one-way delay. On a kernel without {@code sch_netem}
 * ("Specified qdisc kind is unknown") the namespaces are built without qdiscs and
 * {@link #delaysEmulated} is true: the regions keep their one-way delays, which the test then
 * imposes in user space ({@link DelayForwarder}). Processes of a region run under
 * {@code ip netns exec} ({@link #exec}).
 *
 * <p>Names carry the creating JVM's pid and a random suffix ({@code rmnetns-<pid>-<hex>-rN},
 * veths {@code rm<hex>rN[hn]}), so parallel runs never clash, and {@link #cleanLeftovers}
 * removes only the namespaces of JVMs that are gone (after killing what still runs in them).
 * {@link #close} removes everything this instance created (deleting a namespace destroys its
 * veth pair and the qdiscs with it). Needs root and iproute2 ({@code ip}, {@code tc}).
 */
final class NetnsTopology implements AutoCloseable {

  static final String PREFIX = "rmnetns-";
  private static final Pattern LEFTOVER = Pattern.compile("^(" + Pattern.quote(PREFIX)
      + "(\\d+)-[0-9a-f]+-r\\d+)\\b");

  /** One region: its namespace, veth ends, addresses and one-way delay (each direction). */
  record Region(String name, String netns, String rootIf, String nsIf, String rootAddr,
      String nsAddr, int oneWayDelayMs) {

    /**
     * The round trip the delays impose between the root namespace and this region (netem, or
     * the user-space forwarders when {@link #delaysEmulated}).
     */
    int delayRttMs() {
      return 2 * oneWayDelayMs;
    }
  }

  /** Why the topology could not be built. */
  enum Failure {
    /** {@code ip netns add} (or the veth) failed: no namespaces in this environment. */
    NAMESPACES,
    /** Anything else: a real error. */
    OTHER
  }

  /** The topology could not be built; {@link #failure} says whether that is a reason to skip. */
  static final class SetupException extends Exception {
    final Failure failure;

    SetupException(Failure failure, String message) {
      super(message);
      this.failure = failure;
    }
  }

  /** A finished command. */
  record Cmd(int exit, String output) {}

  private final String id;
  private final List<Region> regions = new ArrayList<>();
  private final List<String> created = new ArrayList<>();
  private boolean delaysEmulated;

  private NetnsTopology(String id) {
    this.id = id;
  }

  /** Why namespaces are out of reach for this process (not Linux, not root), or null. */
  static String notPermittedReason() {
    if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return "network namespaces need Linux, this is " + System.getProperty("os.name");
    }
    String uid = uid();
    if (!"0".equals(uid)) {
      return "network namespaces need root (ip netns add), running as uid " + uid;
    }
    return null;
  }

  /** Which of iproute2's {@code ip} and {@code tc} is missing, or null. */
  static String missingToolReason() {
    for (String tool : List.of("ip", "tc")) {
      if (which(tool).equals(tool)) {
        return "'" + tool + "' (iproute2) is not installed";
      }
    }
    return null;
  }

  /**
   * Builds one region per entry of {@code oneWayDelaysMs} (named r1, r2, ...); with
   * {@code netem} false, no delay at all (the regions' delays are 0). With {@code netem} true
   * on a kernel without {@code sch_netem}, no qdisc is added but the regions keep their delays
   * and {@link #delaysEmulated} is true (the caller must impose them). On failure everything
   * created so far is removed again.
   */
  static NetnsTopology create(int[] oneWayDelaysMs, boolean netem) throws SetupException {
    byte[] r = new byte[3];
    new SecureRandom().nextBytes(r);
    NetnsTopology t = new NetnsTopology(HexFormat.of().formatHex(r));
    try {
      t.build(oneWayDelaysMs, netem);
      return t;
    } catch (SetupException | RuntimeException e) {
      t.close();
      throw e;
    }
  }

  private void build(int[] delays, boolean netem) throws SetupException {
    int[] subnets = freeSubnets(delays.length);
    for (int i = 0; i < delays.length; i++) {
      String name = "r" + (i + 1);
      String ns = PREFIX + ProcessHandle.current().pid() + "-" + id + "-" + name;
      Region region = new Region(name, ns, "rm" + id + name + "h", "rm" + id + name + "n",
          "10.231." + subnets[i] + ".1", "10.231." + subnets[i] + ".2", netem ? delays[i] : 0);
      Cmd add = run("ip", "netns", "add", ns);
      if (add.exit() != 0) {
        throw new SetupException(Failure.NAMESPACES, "'ip netns add " + ns + "' failed (exit "
            + add.exit() + "): " + add.output().strip());
      }
      created.add(ns);
      regions.add(region);
      Cmd veth = run("ip", "link", "add", region.rootIf(), "type", "veth", "peer", "name",
          region.nsIf(), "netns", ns);
      if (veth.exit() != 0) {
        throw new SetupException(Failure.NAMESPACES, "cannot create a veth pair into " + ns
            + " (exit " + veth.exit() + "): " + veth.output().strip());
      }
      must("ip", "addr", "add", region.rootAddr() + "/24", "dev", region.rootIf());
      must("ip", "link", "set", region.rootIf(), "up");
      must("ip", "-n", ns, "addr", "add", region.nsAddr() + "/24", "dev", region.nsIf());
      must("ip", "-n", ns, "link", "set", region.nsIf(), "up");
      must("ip", "-n", ns, "link", "set", "lo", "up");
      if (netem && i == 0 && !netemKnown(region)) {
        delaysEmulated = true;
      }
      if (netem && !delaysEmulated) {
        netem(List.of("tc"), region.rootIf(), region.oneWayDelayMs());
        netem(List.of("ip", "netns", "exec", ns, which("tc")), region.nsIf(), region.oneWayDelayMs());
      }
    }
  }

  /**
   * Whether this kernel has the netem qdisc: adds one (no delay) to the root end of
   * {@code region}'s veth and removes it again; false on "Specified qdisc kind is unknown".
   */
  private static boolean netemKnown(Region region) throws SetupException {
    Cmd c = run("tc", "qdisc", "add", "dev", region.rootIf(), "root", "netem", "delay", "0ms");
    if (c.exit() == 0) {
      must("tc", "qdisc", "del", "dev", region.rootIf(), "root");
      return true;
    }
    if (c.output().contains("Specified qdisc kind is unknown")) {
      return false;
    }
    throw new SetupException(Failure.OTHER, "'tc qdisc add dev " + region.rootIf()
        + " root netem delay 0ms' failed (exit " + c.exit() + "): " + c.output().strip());
  }

  /** True when the kernel has no netem: the regions' delays are for the caller to impose. */
  boolean delaysEmulated() {
    return delaysEmulated;
  }

  private static void netem(List<String> prefix, String dev, int delayMs) throws SetupException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of("qdisc", "add", "dev", dev, "root", "netem", "delay",
        delayMs + "ms"));
    Cmd c = run(cmd.toArray(String[]::new));
    if (c.exit() == 0) {
      return;
    }
    throw new SetupException(Failure.OTHER, "'" + String.join(" ", cmd) + "' failed (exit "
        + c.exit() + "): " + c.output().strip());
  }

  /** Third octets of {@code 10.231.X.0/24} subnets not yet on any interface of this machine. */
  private static int[] freeSubnets(int n) throws SetupException {
    String addrs = run("ip", "-4", "-o", "addr", "show").output();
    Set<Integer> used = new TreeSet<>();
    Matcher m = Pattern.compile("10\\.231\\.(\\d+)\\.").matcher(addrs);
    while (m.find()) {
      used.add(Integer.parseInt(m.group(1)));
    }
    SecureRandom rnd = new SecureRandom();
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      int tries = 0;
      int x;
      do {
        x = 1 + rnd.nextInt(254);
        if (++tries > 1000) {
          throw new SetupException(Failure.OTHER, "no free 10.231.X.0/24 subnet (used: " + used
              + ")");
        }
      } while (!used.add(x));
      out[i] = x;
    }
    return out;
  }

  List<Region> regions() {
    return List.copyOf(regions);
  }

  Region region(String name) {
    return regions.stream().filter(r -> r.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no region " + name + " in " + regions));
  }

  /** {@code cmd} run inside the region's namespace. */
  static List<String> exec(Region region, List<String> cmd) {
    List<String> all = new ArrayList<>(List.of(which("ip"), "netns", "exec", region.netns()));
    all.addAll(cmd);
    return all;
  }

  /** The qdiscs of both ends of the region's veth, for the test's output. */
  String describe(Region region) {
    return region.name() + ": " + region.netns() + ", " + region.rootIf() + " " + region.rootAddr()
        + " <-> " + region.nsIf() + " " + region.nsAddr() + "; root side: "
        + run("tc", "qdisc", "show", "dev", region.rootIf()).output().strip()
        + "; namespace side: " + run("ip", "netns", "exec", region.netns(), which("tc"), "qdisc", "show",
            "dev", region.nsIf()).output().strip();
  }

  /**
   * Deletes the namespaces this instance created (their veths and qdiscs go with them); first
   * kills any process still running inside one. Idempotent; never throws.
   */
  @Override
  public void close() {
    for (String ns : created) {
      remove(ns);
    }
    created.clear();
  }

  /**
   * Removes namespaces named {@link #PREFIX}{@code <pid>-...} whose creating JVM no longer runs
   * (left by a run that was killed); returns their names.
   */
  static List<String> cleanLeftovers() {
    List<String> removed = new ArrayList<>();
    for (String line : run("ip", "netns", "list").output().lines().toList()) {
      Matcher m = LEFTOVER.matcher(line.strip());
      if (m.find() && ProcessHandle.of(Long.parseLong(m.group(2))).filter(ProcessHandle::isAlive)
          .isEmpty()) {
        remove(m.group(1));
        removed.add(m.group(1));
      }
    }
    return removed;
  }

  private static void remove(String ns) {
    for (String pid : run("ip", "netns", "pids", ns).output().strip().split("\\s+")) {
      if (pid.matches("\\d+")) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    run("ip", "netns", "del", ns);
  }

  private static void must(String... cmd) throws SetupException {
    Cmd c = run(cmd);
    if (c.exit() != 0) {
      throw new SetupException(Failure.OTHER, "'" + String.join(" ", cmd) + "' failed (exit "
          + c.exit() + "): " + c.output().strip());
    }
  }

  /** Runs a command to completion (10 s at most), stdout and stderr together. */
  static Cmd run(String... cmd) {
    try {
      Path out = Files.createTempFile("netns-cmd-", ".out");
      try {
        List<String> argv = new ArrayList<>(List.of(cmd));
        argv.set(0, which(argv.get(0)));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
            .redirectOutput(out.toFile()).redirectInput(new java.io.File("/dev/null")).start();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
          return new Cmd(-1, "timed out after 10 s: " + String.join(" ", cmd));
        }
        return new Cmd(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      return new Cmd(-1, "cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", cmd), e);
    }
  }

  private static String uid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[1];
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return "unknown";
  }

  /**
   * The absolute path of {@code tool} on PATH or in /usr/sbin, /sbin (Debian keeps ip and tc
   * there, which a non-login PATH may lack); {@code tool} itself when not found.
   */
  static String which(String tool) {
    List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
    dirs.addAll(List.of("/usr/sbin", "/sbin"));
    for (String dir : dirs) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
        return Path.of(dir, tool).toString();
      }
    }
    return tool;
  }
}
