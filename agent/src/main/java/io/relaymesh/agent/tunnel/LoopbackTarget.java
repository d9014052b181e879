package io.relaymesh.agent.tunnel;

/**
 * A stream target the agent may connect: exactly {@code 127.0.0.1:<port>} or
 * {@code [::1]:<port>}, port 1..65535 in plain decimal. Parsing is strict on purpose: the relay
 * authorizes a port, and the agent must not be talked into reaching anything but its own
 * loopback (no host names, no other addresses, no {@code 127.0.0.2}, no {@code 0177.0.0.1}).
 *
 * @param host {@code 127.0.0.1} or {@code ::1}
 * @param port 1..65535
 */
public record LoopbackTarget(String host, int port) {

  /** The target as written on the wire: {@code 127.0.0.1:5432} or {@code [::1]:5432}. */
  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * Parses an OPEN target.
   *
   * @throws IllegalArgumentException with the reason to send in OPEN_ERR
   */
  public static LoopbackTarget parse(String target) {
    if (target == null || target.isEmpty()) {
      throw new IllegalArgumentException("no target: expected 127.0.0.1:<port> or [::1]:<port>");
    }
    String shown = target.length() > 100 ? target.substring(0, 100) + "..." : target;
    String host;
    String port;
    if (target.startsWith("127.0.0.1:")) {
      host = "127.0.0.1";
      port = target.substring("127.0.0.1:".length());
    } else if (target.startsWith("[::1]:")) {
      host = "::1";
      port = target.substring("[::1]:".length());
    } else {
      throw new IllegalArgumentException("target '" + shown
          + "' is not a loopback address: this agent connects to 127.0.0.1:<port> and [::1]:<port> only");
    }
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')
        || (port.length() > 1 && port.charAt(0) == '0')) {
      throw new IllegalArgumentException("target '" + shown + "' has an invalid port (expected 1..65535)");
    }
    int p = Integer.parseInt(port);
    if (p < 1 || p > 65535) {
      throw new IllegalArgumentException("target '" + shown + "' has an invalid port (expected 1..65535)");
    }
    return new LoopbackTarget(host, p);
  }
}
