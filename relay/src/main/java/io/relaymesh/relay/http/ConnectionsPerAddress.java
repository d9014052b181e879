package io.relaymesh.relay.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code relay.listener.max-connections-per-address}: the connections of the public listener
 * open per client address (an IPv6 address counts by its /64 prefix, what one host or home
 * network gets), at most {@code max}. One more is closed at once and counted by reason
 * {@value #REASON}; a refused address is logged at most once per {@link #LOG_INTERVAL}.
 *
 * <p>Where it acts: Vert.x offers no hook before its HTTP connection handler, which runs after
 * the TLS handshake. So the first connection of a listener installs a gate at the head of the
 * listening socket's pipeline ({@link Channel#parent()}), which sees every later connection as
 * it is accepted, before it is registered with an event loop or has any TLS state: a refused
 * one costs an {@code accept} and a {@code close}, no handshake. Connections accepted before the
 * gate was in place are counted (and refused) at the connection handler instead, after their
 * handshake.
 *
 * <p>A counted connection is counted out exactly once, when its channel closes, and an address
 * with no connection left is forgotten: the table holds only addresses with open connections.
 * A refused connection is never counted, so its close changes nothing.
 *
 * <p>Threading: any thread (the acceptor's event loop admits, each connection's event loop
 * counts out).
 */
public final class ConnectionsPerAddress {

  /** The {@code reason} label of a refusal. */
  public static final String REASON = "per-address-limit";
  /** A refused address is logged at most once per interval. */
  public static final Duration LOG_INTERVAL = Duration.ofMinutes(1);
  /** Addresses remembered as logged within the interval; beyond, refusals go unlogged. */
  static final int MAX_LOGGED = 4096;
  /** How often at most a full table of logged addresses is swept for expired ones. */
  private static final long SWEEP_NANOS = Duration.ofSeconds(1).toNanos();
  static final String GATE = "relaymesh-per-address-limit";

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionsPerAddress.class);
  private static final AttributeKey<Boolean> COUNTED =
      AttributeKey.valueOf(ConnectionsPerAddress.class, "counted");

  private final int max;
  private final String who;
  private final Consumer<String> refused;
  private final LongSupplier nanos;
  private final int maxLogged;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<InetAddress, Logged> logged = new ConcurrentHashMap<>();
  private final Gate gate = new Gate();
  private volatile Channel gated;
  private volatile long swept;

  /** When a refused address was last logged, and its refusals since. */
  private record Logged(long at, long unlogged) {}

  /**
   * @param max connections per address, at least 1
   * @param who the listener's owner for log lines ({@code relay eu/eu-1a2b3c4d})
   * @param refused counts one refusal by reason ({@code RelayMetrics::connectionRefused})
   */
  public ConnectionsPerAddress(int max, String who, Consumer<String> refused) {
    this(max, who, refused, System::nanoTime, MAX_LOGGED);
  }

  ConnectionsPerAddress(int max, String who, Consumer<String> refused, LongSupplier nanos,
      int maxLogged) {
    if (max < 1) {
      throw new IllegalArgumentException("max connections per address must be at least 1");
    }
    this.max = max;
    this.who = who;
    this.refused = refused;
    this.nanos = nanos;
    this.maxLogged = maxLogged;
    this.swept = nanos.getAsLong() - SWEEP_NANOS;
  }

  /**
   * A connection handed over by the listener (its TLS handshake done): puts the gate on its
   * listening socket if not there yet, and counts it unless the gate did already.
   *
   * @return false when it is over the limit (counted as refused, logged; the caller closes it)
   */
  public boolean connected(Channel ch) {
    Channel listener = ch.parent();
    if (listener != null && gated != listener) {
      gated = listener;
      listener.eventLoop().execute(() -> {
        if (listener.isOpen() && listener.pipeline().get(GATE) == null) {
          listener.pipeline().addFirst(GATE, gate);
        }
      });
    }
    return admit(ch);
  }

  /** Counts {@code ch} in, once; false (and counted as refused) when over the limit. */
  boolean admit(Channel ch) {
    if (ch.attr(COUNTED).setIfAbsent(Boolean.TRUE) != null) {
      return true; // the gate counted it
    }
    SocketAddress remote = ch.remoteAddress();
    if (!(remote instanceof InetSocketAddress inet) || inet.getAddress() == null) {
      return true; // not an IP connection: nothing to count by
    }
    InetAddress key = key(inet.getAddress());
    boolean[] admitted = {false};
    open.compute(key, (k, n) -> {
      int c = n == null ? 0 : n;
      if (c >= max) {
        return n;
      }
      admitted[0] = true;
      return c + 1;
    });
    if (!admitted[0]) {
      refused.accept(REASON);
      log(key);
      return false;
    }
    // counted out once, when it closes, whoever closes it
    ch.closeFuture().addListener(f -> open.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1));
    return true;
  }

  /** Connections open from {@code address} (its /64 for IPv6). */
  public int open(InetAddress address) {
    return open.getOrDefault(key(address), 0);
  }

  /** Addresses with open connections (the table's size). */
  public int addresses() {
    return open.size();
  }

  /** The counting key: an IPv4 address itself, an IPv6 address's /64 prefix. */
  static InetAddress key(InetAddress a) {
    if (!(a instanceof Inet6Address)) {
      return a;
    }
    byte[] b = a.getAddress();
    for (int i = 8; i < 16; i++) {
      b[i] = 0;
    }
    try {
      return InetAddress.getByAddress(b); // also drops a scope id
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // 16 bytes are always an address
    }
  }

  /** {@code 203.0.113.5}, {@code 2001:db8:1:2::/64}. */
  static String describe(InetAddress key) {
    if (!(key instanceof Inet6Address)) {
      return key.getHostAddress();
    }
    byte[] b = key.getAddress();
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 8; i += 2) {
      s.append(Integer.toHexString((b[i] & 0xff) << 8 | b[i + 1] & 0xff)).append(':');
    }
    return s.append(":/64").toString();
  }

  private void log(InetAddress key) {
    long t = nanos.getAsLong();
    long interval = LOG_INTERVAL.toNanos();
    if (!logged.containsKey(key) && logged.size() >= maxLogged) {
      // a flood from that many addresses: the counter tells the rest; the sweep runs on the
      // acceptor's thread, so at most once a second
      if (t - swept < SWEEP_NANOS) {
        return;
      }
      swept = t;
      logged.values().removeIf(l -> t - l.at() >= interval);
      if (logged.size() >= maxLogged) {
        return;
      }
    }
    long[] unlogged = {-1};
    logged.compute(key, (k, l) -> {
      if (l == null || t - l.at() >= interval) {
        unlogged[0] = l == null ? 0 : l.unlogged();
        return new Logged(t, 0);
      }
      return new Logged(l.at(), l.unlogged() + 1);
    });
    if (unlogged[0] >= 0) {
      LOG.warn("{}: refused a connection from {}, which has {} open already"
          + " (relay.listener.max-connections-per-address){}; every refusal is counted in"
          + " relaymesh_relay_connection_refusals_total{reason=\"" + REASON + "\"}, this"
          + " address is logged again after {} s at the earliest", who, describe(key), max,
          unlogged[0] > 0 ? ", " + unlogged[0] + " more refused since the last such line"
              : "", LOG_INTERVAL.toSeconds());
    }
  }

  /**
   * At the head of the listening socket's pipeline: each accepted connection passes by here
   * before the server bootstrap registers it; one over the limit is closed on the spot.
   */
  @ChannelHandler.Sharable
  private final class Gate extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child && !admit(child)) {
        // not registered yet: closed directly, as Netty's acceptor does with one it cannot
        // register
        child.unsafe().closeForcibly();
        return;
      }
      ctx.fireChannelRead(msg);
    }
  }
}
