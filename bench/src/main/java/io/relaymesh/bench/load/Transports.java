package io.relaymesh.bench.load;

import java.util.List;

/**
 * The transports under test, baseline first. Ratios in the tables are against {@code tcp};
 * {@code tunnel-tls} (the production setup) is also compared with {@code tls-tcp} (one TLS hop,
 * same engine and certificate) and {@code tunnel-plain} with {@code tcp}, to separate the TLS
 * cost from the protocol cost.
 */
final class Transports {

  private Transports() {}

  static List<LoadMain.Transport> all() {
    return List.of(
        new LoadMain.Transport("tcp", env -> TcpDialer.start(env, false)),
        new LoadMain.Transport("tls-tcp", env -> TcpDialer.start(env, true)),
        new LoadMain.Transport("tunnel-plain", env -> TunnelDialer.start(env, false)),
        new LoadMain.Transport("tunnel-tls", env -> TunnelDialer.start(env, true)));
  }

  /**
   * Experimental variants, run only when named with {@code --only}: the tunnel with the client's
   * messages made contiguous before the WebSocket masks them ({@link CopyingTransport}), and
   * the tunnel with masked client frames (no {@code Relaymesh-Unmasked-Frames} negotiation, as
   * before it existed).
   */
  static List<LoadMain.Transport> experiments() {
    return List.of(
        new LoadMain.Transport("tunnel-plain-masked", env -> TunnelDialer.start(env, false, false, true)),
        new LoadMain.Transport("tunnel-tls-masked", env -> TunnelDialer.start(env, true, false, true)),
        new LoadMain.Transport("tunnel-plain-contig", env -> TunnelDialer.start(env, false, true)),
        new LoadMain.Transport("tunnel-tls-contig", env -> TunnelDialer.start(env, true, true)));
  }

  /** Pairs (transport, its baseline) for the ratio table. */
  static List<String[]> comparisons() {
    return List.of(
        new String[] {"tls-tcp", "tcp"},
        new String[] {"tunnel-plain", "tcp"},
        new String[] {"tunnel-tls", "tls-tcp"},
        new String[] {"tunnel-tls", "tcp"},
        new String[] {"tunnel-plain", "tunnel-plain-masked"},
        new String[] {"tunnel-tls", "tunnel-tls-masked"},
        new String[] {"tunnel-plain-contig", "tunnel-plain"},
        new String[] {"tunnel-tls-contig", "tunnel-tls"});
  }
}
