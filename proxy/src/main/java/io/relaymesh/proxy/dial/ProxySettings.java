package io.relaymesh.proxy.dial;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * HTTP CONNECT proxy settings from {@code HTTPS_PROXY} and {@code NO_PROXY}, as curl and Go
 * read them. Tunnels are always TLS ({@code wss://}), so only the HTTPS proxy variables apply.
 *
 * <ul>
 *   <li>{@code https_proxy} wins over {@code HTTPS_PROXY}; likewise {@code no_proxy} over
 *       {@code NO_PROXY}. An empty value means unset.
 *   <li>Proxy URL: {@code http://[user[:password]@]host[:port]}; the scheme may be omitted;
 *       default port 80 (Go's rule; curl would use 1080). Only {@code http://} proxies are
 *       supported: the tunnel's own TLS runs inside the CONNECT tunnel, so the proxy never sees
 *       plain text. {@code https://} or {@code socks5://} proxies are rejected with a clear error.
 *   <li>{@code NO_PROXY}: comma (or space) separated entries; {@code *} bypasses the proxy for
 *       every host; {@code example.com} matches that host and its subdomains;
 *       {@code .example.com} matches subdomains only; an IP address matches that address
 *       literally; a CIDR range ({@code 10.0.0.0/8}, {@code fd00::/8}) matches IP-literal hosts in
 *       it; an entry may end in {@code :port} to apply to that port only. Matching is
 *       case-insensitive, host names are not resolved.
 *   <li>Loopback is <b>not</b> implicitly excluded: {@code 127.0.0.1}/{@code localhost} go
 *       through the proxy unless listed in {@code NO_PROXY} (as with curl). List them when the
 *       relay runs on the same machine.
 * </ul>
 */
public final class ProxySettings {
  private final String host;
  private final int port;
  private final String username;
  private final String password;
  private final List<String> noProxy;

  private ProxySettings(String host, int port, String username, String password, List<String> noProxy) {
    this.host = host;
    this.port = port;
    this.username = username;
    this.password = password;
    this.noProxy = List.copyOf(noProxy);
  }

  /** A proxy at {@code host:port} with the given NO_PROXY entries. */
  public static ProxySettings of(String host, int port, List<String> noProxy) {
    return new ProxySettings(Objects.requireNonNull(host), port, null, null, noProxy);
  }

  /** The settings of the process environment, or null when no HTTPS proxy is set. */
  public static ProxySettings fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /**
   * The settings of an environment map, or null when no HTTPS proxy is set.
   *
   * @throws IllegalArgumentException naming the variable when its value is not a usable proxy URL
   */
  public static ProxySettings fromEnvironment(Map<String, String> env) {
    String var = "https_proxy";
    String url = nonEmpty(env.get(var));
    if (url == null) {
      var = "HTTPS_PROXY";
      url = nonEmpty(env.get(var));
    }
    if (url == null) {
      return null;
    }
    String noProxyValue = nonEmpty(env.get("no_proxy"));
    if (noProxyValue == null) {
      noProxyValue = nonEmpty(env.get("NO_PROXY"));
    }
    List<String> noProxy = new ArrayList<>();
    if (noProxyValue != null) {
      for (String e : noProxyValue.split("[,\\s]+")) {
        if (!e.isBlank()) {
          noProxy.add(e.trim().toLowerCase(Locale.ROOT));
        }
      }
    }
    String withScheme = url.contains("://") ? url : "http://" + url;
    URI uri;
    try {
      uri = new URI(withScheme);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(var + ": not a proxy URL: '" + redact(url) + "' (" + e.getReason() + ")");
    }
    if (!"http".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException(var + ": only http:// (HTTP CONNECT) proxies are supported, got '"
          + uri.getScheme() + "://...'");
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException(var + ": no host in proxy URL '" + redact(url) + "'");
    }
    String user = null;
    String pass = null;
    if (uri.getUserInfo() != null) {
      String[] up = uri.getUserInfo().split(":", 2);
      user = up[0];
      pass = up.length > 1 ? up[1] : "";
    }
    return new ProxySettings(stripBrackets(uri.getHost()), uri.getPort() > 0 ? uri.getPort() : 80, user, pass, noProxy);
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String username() {
    return username;
  }

  public String password() {
    return password;
  }

  public List<String> noProxy() {
    return noProxy;
  }

  /** Whether a connection to {@code targetHost:targetPort} goes through the proxy. */
  public boolean useProxyFor(String targetHost, int targetPort) {
    String h = stripBrackets(targetHost).toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    for (String entry : noProxy) {
      if (matches(entry, h, targetPort)) {
        return false;
      }
    }
    return true;
  }

  private static boolean matches(String entry, String host, int port) {
    if (entry.equals("*")) {
      return true;
    }
    String e = entry;
    int entryPort = -1;
    // host:port, [v6]:port; a bare IPv6 address has several colons and no port
    if (e.startsWith("[")) {
      int close = e.indexOf(']');
      if (close > 0) {
        if (e.length() > close + 2 && e.charAt(close + 1) == ':') {
          entryPort = parsePort(e.substring(close + 2));
        }
        e = e.substring(1, close);
      }
    } else if (e.indexOf(':') > 0 && e.indexOf(':') == e.lastIndexOf(':')) {
      entryPort = parsePort(e.substring(e.indexOf(':') + 1));
      e = e.substring(0, e.indexOf(':'));
    }
    if (entryPort == -2 || (entryPort > 0 && entryPort != port)) {
      return false;
    }
    if (e.contains("/")) {
      return inCidr(e, host);
    }
    if (e.startsWith("*.")) {
      e = e.substring(1);
    }
    if (e.startsWith(".")) {
      return host.endsWith(e);
    }
    if (isIpLiteral(e) || isIpLiteral(host)) {
      return sameAddress(e, host);
    }
    return host.equals(e) || host.endsWith("." + e);
  }

  private static int parsePort(String s) {
    try {
      int p = Integer.parseInt(s);
      return p > 0 && p < 65536 ? p : -2;
    } catch (NumberFormatException e) {
      return -2;
    }
  }

  private static boolean isIpLiteral(String s) {
    return s.indexOf(':') >= 0 || s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  private static boolean sameAddress(String a, String b) {
    if (!isIpLiteral(a) || !isIpLiteral(b)) {
      return false;
    }
    try {
      return InetAddress.getByName(a).equals(InetAddress.getByName(b)); // literals: no lookup
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static boolean inCidr(String cidr, String host) {
    if (!isIpLiteral(host)) {
      return false;
    }
    try {
      String[] parts = cidr.split("/", 2);
      if (!isIpLiteral(parts[0])) {
        return false;
      }
      byte[] net = InetAddress.getByName(parts[0]).getAddress();
      byte[] addr = InetAddress.getByName(host).getAddress();
      int bits = Integer.parseInt(parts[1]);
      if (net.length != addr.length || bits < 0 || bits > net.length * 8) {
        return false;
      }
      for (int i = 0; i < bits; i++) {
        int mask = 0x80 >>> (i % 8);
        if ((net[i / 8] & mask) != (addr[i / 8] & mask)) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException | NumberFormatException e) {
      return false;
    }
  }

  private static String stripBrackets(String h) {
    return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
  }

  private static String nonEmpty(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  private static String redact(String url) {
    return url.replaceAll("//[^@/]*@", "//***@");
  }

  @Override
  public String toString() {
    return "http proxy " + host + ":" + port + (username != null ? " (with credentials)" : "")
        + (noProxy.isEmpty() ? "" : ", no_proxy " + String.join(",", noProxy));
  }

  /** The Vert.x options for an HTTP CONNECT through this proxy (with its credentials, if any). */
  public io.vertx.core.net.ProxyOptions toProxyOptions() {
    io.vertx.core.net.ProxyOptions po = new io.vertx.core.net.ProxyOptions()
        .setType(io.vertx.core.net.ProxyType.HTTP).setHost(host()).setPort(port());
    if (username() != null) {
      po.setUsername(username()).setPassword(password());
    }
    return po;
  }
}
