package io.relaymesh.control.apps;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The name of a workspace app on a relay's wildcard apps host:
 * {@code <port>[s]--<agent>--<workspace>--<owner>.<apps-host>}, e.g.
 * {@code 8080--main--dev--alice.apps.example.com}; {@code s} means the app speaks HTTPS.
 * Names (agent, workspace, owner) are lowercase words joined by single dashes, so the double
 * dash separates the parts unambiguously. The whole label must fit the 63-character DNS label
 * limit: {@link #check} refuses a name that would not (at share time), and {@link #parseLabel}
 * refuses anything that is not exactly this shape. Pure logic, shared by the control plane
 * (share URLs, access checks) and the relay (routing).
 */
public record AppHost(int port, boolean https, String agent, String workspace, String owner) {

  /** RFC 1035: at most 63 characters per label. */
  public static final int DNS_LABEL_MAX = 63;
  private static final Pattern NAME = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
  private static final Pattern PORT = Pattern.compile("[1-9][0-9]{0,4}s?");

  public AppHost {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not between 1 and 65535");
    }
    checkName(agent, "agent");
    checkName(workspace, "workspace");
    checkName(owner, "owner");
  }

  /** The subdomain label, {@code <port>[s]--<agent>--<workspace>--<owner>}. */
  public String label() {
    return port + (https ? "s" : "") + "--" + agent + "--" + workspace + "--" + owner;
  }

  /** {@code owner/workspace}. */
  public String workspaceFullName() {
    return owner + "/" + workspace;
  }

  /** The host name of this app under {@code appsHost} ({@code label.appsHost}). */
  public String host(String appsHost) {
    return label() + "." + appsHost;
  }

  /**
   * The app for these parts, or an {@link IllegalArgumentException} that says why it cannot be
   * named (bad part, or a label longer than {@value #DNS_LABEL_MAX} characters and by how much).
   */
  public static AppHost check(int port, boolean https, String agent, String workspace,
      String owner) {
    AppHost h = new AppHost(port, https, agent, workspace, owner);
    String label = h.label();
    if (label.length() > DNS_LABEL_MAX) {
      throw new IllegalArgumentException("app name '" + label + "' is " + label.length()
          + " characters; a DNS label holds at most " + DNS_LABEL_MAX + " (shorten the agent,"
          + " workspace or user name by " + (label.length() - DNS_LABEL_MAX) + ")");
    }
    return h;
  }

  /** Parses a label strictly (case-insensitive, as DNS is); throws saying what is wrong. */
  public static AppHost parseLabel(String label) {
    if (label == null || label.isEmpty()) {
      throw new IllegalArgumentException("empty app name");
    }
    if (label.length() > DNS_LABEL_MAX) {
      throw new IllegalArgumentException("app name is longer than " + DNS_LABEL_MAX
          + " characters");
    }
    String l = label.toLowerCase(Locale.ROOT);
    String[] parts = l.split("--", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException("app name '" + l + "' is not"
          + " <port>[s]--<agent>--<workspace>--<owner>");
    }
    if (!PORT.matcher(parts[0]).matches()) {
      throw new IllegalArgumentException("app name '" + l + "' does not start with a port"
          + " (1-65535, optionally followed by 's' for HTTPS)");
    }
    boolean https = parts[0].endsWith("s");
    int port = Integer.parseInt(https ? parts[0].substring(0, parts[0].length() - 1) : parts[0]);
    if (port > 65535) {
      throw new IllegalArgumentException("app name '" + l + "': port " + port
          + " is above 65535");
    }
    return new AppHost(port, https, parts[1], parts[2], parts[3]);
  }

  /**
   * The app named by an HTTP {@code Host} (or {@code :authority}) under {@code appsHost}, or
   * {@code null} when the host is not a direct subdomain of {@code appsHost} (then it is not an
   * app request at all). Ports are ignored on both sides; throws when it is a subdomain but not a
   * valid app name.
   */
  public static AppHost fromHost(String hostHeader, String appsHost) {
    if (hostHeader == null || appsHost == null) {
      return null;
    }
    String host = stripPort(hostHeader).toLowerCase(Locale.ROOT);
    String base = stripPort(appsHost).toLowerCase(Locale.ROOT);
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (!host.endsWith("." + base)) {
      return null;
    }
    String label = host.substring(0, host.length() - base.length() - 1);
    if (label.contains(".")) {
      throw new IllegalArgumentException("'" + abbreviate(label) + "' is not a single label under "
          + base);
    }
    return parseLabel(label);
  }

  /** {@code host[:port]} or {@code [v6]:port} without the port. */
  public static String stripPort(String authority) {
    if (authority.startsWith("[")) {
      int end = authority.indexOf(']');
      return end < 0 ? authority : authority.substring(0, end + 1);
    }
    int colon = authority.indexOf(':');
    return colon < 0 ? authority : authority.substring(0, colon);
  }

  private static void checkName(String s, String what) {
    if (s == null || s.isEmpty() || !NAME.matcher(s).matches()) {
      throw new IllegalArgumentException(what + " name '" + abbreviate(String.valueOf(s))
          + "' is invalid in an app name: lowercase letters, digits and single dashes");
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 70 ? s.substring(0, 70) + "..." : s;
  }
}
