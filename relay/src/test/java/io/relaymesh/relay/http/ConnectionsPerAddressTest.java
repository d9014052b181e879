package io.relaymesh.relay.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.Channel;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * {@link ConnectionsPerAddress} on Netty's embedded channels: the count per address (IPv6 by
 * /64), refusals, counting out on close down to an empty table, the gate on the listening
 * socket, and the log line once per address and interval. The real listener is in
 * {@code ConnectionFloodTest}.
 */
@Timeout(30)
class ConnectionsPerAddressTest {

  private final List<String> refusals = new ArrayList<>();
  private final AtomicLong clock = new AtomicLong();
  private final Logger logger = (Logger) LoggerFactory.getLogger(ConnectionsPerAddress.class);
  /** The class's log lines during a test. */
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  @BeforeEach
  void captureLogs() {
    lines.start();
    logger.addAppender(lines);
  }

  @AfterEach
  void releaseLogs() {
    logger.detachAppender(lines);
  }

  private ConnectionsPerAddress limit(int max) {
    return new ConnectionsPerAddress(max, "relay test/t-1", refusals::add, clock::get,
        ConnectionsPerAddress.MAX_LOGGED);
  }

  /** A connection from {@code address}; {@code registered} false: as the acceptor sees it. */
  private static Channel from(Channel parent, String address, boolean registered)
      throws Exception {
    InetSocketAddress remote = new InetSocketAddress(InetAddress.getByName(address), 40000);
    return new EmbeddedChannel(parent, DefaultChannelId.newInstance(), registered, false) {
      @Override
      protected SocketAddress remoteAddress0() {
        return remote;
      }
    };
  }

  @Test
  void theConnectionOverTheLimitIsRefusedAndEveryCloseCountsOutOnceDownToAnEmptyTable()
      throws Exception {
    ConnectionsPerAddress limit = limit(2);
    InetAddress a = InetAddress.getByName("192.0.2.1");
    Channel c1 = from(null, "192.0.2.1", true);
    Channel c2 = from(null, "192.0.2.1", true);
    Channel c3 = from(null, "192.0.2.1", true);
    Channel other = from(null, "192.0.2.2", true);
    assertThat(limit.admit(c1)).isTrue();
    assertThat(limit.admit(c1)).as("a connection is counted once").isTrue();
    assertThat(limit.admit(c2)).isTrue();
    assertThat(limit.admit(c3)).as("the third from one address").isFalse();
    assertThat(limit.admit(other)).as("another address").isTrue();
    assertThat(refusals).containsExactly(ConnectionsPerAddress.REASON);
    assertThat(limit.open(a)).isEqualTo(2);
    c3.close().sync();
    assertThat(limit.open(a)).as("a refused connection's close counts nothing out").isEqualTo(2);
    c1.close().sync();
    c1.close().sync();
    assertThat(limit.open(a)).as("counted out once").isEqualTo(1);
    Channel c4 = from(null, "192.0.2.1", true);
    assertThat(limit.admit(c4)).as("room again after a close").isTrue();
    for (Channel c : new Channel[] {c2, c4, other}) {
      c.close().sync();
    }
    assertThat(limit.open(a)).isZero();
    assertThat(limit.addresses()).as("addresses without connections are forgotten").isZero();
  }

  @Test
  void ipv6AddressesCountByTheirSlash64() throws Exception {
    ConnectionsPerAddress limit = limit(2);
    assertThat(limit.admit(from(null, "2001:db8:1:2::1", true))).isTrue();
    assertThat(limit.admit(from(null, "2001:db8:1:2:ffff:ffff:ffff:ffff", true))).isTrue();
    assertThat(limit.admit(from(null, "2001:db8:1:2::77", true))).as("same /64").isFalse();
    assertThat(limit.admit(from(null, "2001:db8:1:3::1", true))).as("next /64").isTrue();
    assertThat(limit.open(InetAddress.getByName("2001:db8:1:2::abc"))).isEqualTo(2);
    assertThat(limit.open(InetAddress.getByName("::ffff:192.0.2.1")))
        .as("an IPv4-mapped address is its IPv4 address").isZero();
    assertThat(ConnectionsPerAddress.describe(ConnectionsPerAddress.key(
        InetAddress.getByName("2001:db8:0:a::1")))).isEqualTo("2001:db8:0:a::/64");
  }

  @Test
  void theFirstConnectionPutsAGateOnItsListenerThatClosesOneOverTheLimitBeforeRegistration()
      throws Exception {
    ConnectionsPerAddress limit = limit(1);
    EmbeddedChannel listener = new EmbeddedChannel();
    Channel first = from(listener, "198.51.100.7", true);
    assertThat(limit.connected(first)).isTrue();
    listener.runPendingTasks();
    assertThat(listener.pipeline().get(ConnectionsPerAddress.GATE)).isNotNull();
    assertThat(limit.connected(from(listener, "198.51.100.8", true))).isTrue();
    listener.runPendingTasks();
    assertThat(listener.pipeline().names()).as("one gate").containsOnlyOnce(
        ConnectionsPerAddress.GATE);

    Channel refused = from(listener, "198.51.100.7", false);
    listener.writeInbound(refused);
    assertThat(refused.isOpen()).as("closed at accept").isFalse();
    assertThat((Object) listener.readInbound()).as("never handed to the bootstrap").isNull();
    Channel admitted = from(listener, "198.51.100.9", false);
    listener.writeInbound(admitted);
    assertThat((Object) listener.readInbound()).isSameAs(admitted);
    assertThat(limit.connected(admitted)).as("counted by the gate, not again").isTrue();
    assertThat(limit.open(InetAddress.getByName("198.51.100.9"))).isEqualTo(1);
    assertThat(refusals).containsExactly(ConnectionsPerAddress.REASON);
    listener.finishAndReleaseAll();
  }

  @Test
  void aRefusedAddressIsLoggedOncePerIntervalWithTheRefusalsInBetween() throws Exception {
    ConnectionsPerAddress limit = limit(1);
    assertThat(limit.admit(from(null, "203.0.113.5", true))).isTrue();
    assertThat(limit.admit(from(null, "203.0.113.6", true))).isTrue();
    for (int i = 0; i < 100; i++) {
      assertThat(limit.admit(from(null, "203.0.113.5", true))).isFalse();
    }
    assertThat(limit.admit(from(null, "203.0.113.6", true))).isFalse();
    clock.addAndGet(ConnectionsPerAddress.LOG_INTERVAL.minus(Duration.ofSeconds(1)).toNanos());
    assertThat(limit.admit(from(null, "203.0.113.5", true))).isFalse();
    clock.addAndGet(Duration.ofSeconds(1).toNanos());
    assertThat(limit.admit(from(null, "203.0.113.5", true))).isFalse();
    List<String> logged = lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(logged).as("102 refusals of 203.0.113.5, 1 of .6, over one interval")
        .hasSize(3);
    assertThat(logged.get(0)).startsWith("relay test/t-1: refused a connection from"
        + " 203.0.113.5, which has 1 open already"
        + " (relay.listener.max-connections-per-address); every refusal is counted in"
        + " relaymesh_relay_connection_refusals_total{reason=\"per-address-limit\"}");
    assertThat(logged.get(1)).contains("from 203.0.113.6,");
    assertThat(logged.get(2)).contains("from 203.0.113.5,")
        .contains(", 100 more refused since the last such line;");
    assertThat(refusals).hasSize(103);
  }

  @Test
  void aFullTableOfLoggedAddressesLeavesNewOnesUnloggedUntilAnIntervalPassed() throws Exception {
    ConnectionsPerAddress limit = new ConnectionsPerAddress(1, "relay test/t-1",
        refusals::add, clock::get, 2);
    for (String a : new String[] {"203.0.113.1", "203.0.113.2", "203.0.113.3"}) {
      assertThat(limit.admit(from(null, a, true))).isTrue();
      assertThat(limit.admit(from(null, a, true))).isFalse();
    }
    assertThat(lines.list).as("room for 2 logged addresses").hasSize(2);
    clock.addAndGet(ConnectionsPerAddress.LOG_INTERVAL.toNanos());
    assertThat(limit.admit(from(null, "203.0.113.3", true))).isFalse();
    assertThat(lines.list).as("expired entries swept").hasSize(3);
    assertThat(lines.list.get(2).getFormattedMessage()).contains("from 203.0.113.3,");
    assertThat(refusals).hasSize(4);
  }
}
