package io.relaymesh.relay.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.metrics.RelayMetrics;
import io.relaymesh.telemetry.MetricsDoc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What each tunnel type reports relay-wide (a relayed connection counts once per relay). */
class TunnelMetricsTest {

  final RelayMetrics relay = new RelayMetrics(() -> true, () -> false);

  @AfterEach
  void close() {
    relay.close();
  }

  double bytes(int kind, int direction) {
    return relay.bytes(kind, direction).count();
  }

  @Test
  void agentTunnelsCountStreamsAndBytesByKind() {
    TunnelMetrics agent = new TunnelMetrics(relay, TunnelMetrics.Type.AGENT);
    agent.streamOpened(true, WireSpec.KIND_SSH);
    agent.streamOpened(true, WireSpec.KIND_TCP);
    agent.bytesOut(WireSpec.KIND_SSH, 100);
    agent.bytesIn(WireSpec.KIND_SSH, 7);
    agent.bytesOut(WireSpec.KIND_TCP, 5);
    agent.bytesIn(-1, 3); // a frame for a stream no longer known: the tunnel's own total only
    assertThat(relay.streams(RelayMetrics.SSH)).isEqualTo(1);
    assertThat(relay.streams(RelayMetrics.TCP)).isEqualTo(1);
    assertThat(bytes(RelayMetrics.SSH, RelayMetrics.TO_AGENT)).isEqualTo(100);
    assertThat(bytes(RelayMetrics.SSH, RelayMetrics.FROM_AGENT)).isEqualTo(7);
    assertThat(bytes(RelayMetrics.TCP, RelayMetrics.TO_AGENT)).isEqualTo(5);
    assertThat(agent.bytesReceived()).isEqualTo(10);
    assertThat(agent.bytesSent()).isEqualTo(105);
    agent.streamClosed(true, WireSpec.KIND_SSH, 7, 100);
    assertThat(relay.streams(RelayMetrics.SSH)).isZero();
    assertThat(agent.streams()).isEqualTo(2);
  }

  @Test
  void clientAndInboundPeerSessionsDoNotCountStreamsRelayWide() {
    for (TunnelMetrics.Type t : new TunnelMetrics.Type[] {TunnelMetrics.Type.CLIENT,
        TunnelMetrics.Type.PEER_IN}) {
      TunnelMetrics m = new TunnelMetrics(relay, t);
      m.streamOpened(false, WireSpec.KIND_TCP);
      m.bytesIn(WireSpec.KIND_TCP, 50);
      assertThat(m.bytesReceived()).isEqualTo(50);
    }
    assertThat(relay.streams(RelayMetrics.TCP)).isZero();
    assertThat(bytes(RelayMetrics.TCP, RelayMetrics.FROM_AGENT)).isZero();
  }

  @Test
  void outboundPeerSessionsCountAsKindPeer() {
    TunnelMetrics out = new TunnelMetrics(relay, TunnelMetrics.Type.PEER_OUT);
    out.streamOpened(true, WireSpec.KIND_SSH);
    out.bytesOut(WireSpec.KIND_SSH, 11);
    out.bytesIn(WireSpec.KIND_SSH, 13);
    assertThat(relay.streams(RelayMetrics.PEER)).isEqualTo(1);
    assertThat(relay.streams(RelayMetrics.SSH)).isZero();
    assertThat(bytes(RelayMetrics.PEER, RelayMetrics.TO_AGENT)).isEqualTo(11);
    assertThat(bytes(RelayMetrics.PEER, RelayMetrics.FROM_AGENT)).isEqualTo(13);
  }

  @Test
  void rttRefusalsAndGoAwaysAreLabelledAndDocumented() {
    new TunnelMetrics(relay, TunnelMetrics.Type.AGENT).rtt(2_000_000);
    new TunnelMetrics(relay, TunnelMetrics.Type.PEER_OUT).rtt(30_000_000);
    TunnelMetrics client = new TunnelMetrics(relay, TunnelMetrics.Type.CLIENT);
    client.refused("open-rate");
    client.goAway(true, ErrorCode.GOING_AWAY);
    String s = relay.scrape();
    assertThat(s).contains("relaymesh_relay_tunnel_rtt_seconds_count{peer=\"agent\"} 1")
        .contains("relaymesh_relay_tunnel_rtt_seconds_bucket{peer=\"agent\",le=\"0.0025\"} 1")
        .contains("relaymesh_relay_tunnel_rtt_seconds_count{peer=\"relay\"} 1")
        .contains("relaymesh_relay_refusals_total{reason=\"open-rate\"} 1.0")
        .contains("relaymesh_relay_goaways_total{code=\"GOING_AWAY\",direction=\"sent\"} 1.0");
    assertThat(MetricsDoc.load().undocumented(s)).isEmpty();
  }
}
