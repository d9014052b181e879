package io.relaymesh.proxy.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.RecordingListener;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The rate-limit decorator with a hand-driven clock. */
class AbuseGuardTest {
  static final long SECOND = 1_000_000_000L;
  final AtomicLong now = new AtomicLong(5 * SECOND);
  final RecordingListener next = new RecordingListener();
  final List<String> refusedOpens = new ArrayList<>();
  final CountingSessionMetrics metrics = new CountingSessionMetrics();
  final AbuseGuard guard = new AbuseGuard(next,
      (id, code, reason, label) -> refusedOpens.add(id + " " + code + " " + label),
      TunnelConfig.defaults().withRates(3, 2, 4), metrics, now::get);

  @Test
  void opensAboveTheRateAreRefusedUntilTokensRefill() throws Exception {
    for (int id = 1; id <= 9; id += 2) {
      guard.onOpen(id, 1, "t", Buffer.buffer());
    }
    assertThat(next.events).hasSize(3); // burst = one second's worth
    assertThat(refusedOpens).containsExactly("7 LIMIT open-rate", "9 LIMIT open-rate");
    now.addAndGet(SECOND / 3 + 1); // one token back
    guard.onOpen(11, 1, "t", Buffer.buffer());
    guard.onOpen(13, 1, "t", Buffer.buffer());
    assertThat(next.events).hasSize(4);
    assertThat(refusedOpens).hasSize(3);
  }

  @Test
  void openingAtMoreThanTwiceTheRateIsAFlood() throws Exception {
    for (int id = 1; id <= 11; id += 2) {
      guard.onOpen(id, 1, "t", Buffer.buffer()); // 3 pass, 3 refused
    }
    assertThatThrownBy(() -> guard.onOpen(13, 1, "t", Buffer.buffer()))
        .isInstanceOfSatisfying(ProtocolException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.LIMIT);
          assertThat(e.isConnectionError()).isTrue();
        });
    assertThat(metrics.refusals(Refusals.OPEN_FLOOD)).isEqualTo(1);
  }

  @Test
  void resetsAboveTheRateAreAConnectionError() throws Exception {
    guard.onReset(1, ErrorCode.CANCEL, 8, "");
    guard.onReset(3, ErrorCode.CANCEL, 8, "");
    assertThatThrownBy(() -> guard.onReset(5, ErrorCode.CANCEL, 8, ""))
        .isInstanceOf(AbuseGuard.LimitException.class);
    assertThat(metrics.refusals(Refusals.RESET_RATE)).isEqualTo(1);
    now.addAndGet(SECOND);
    guard.onReset(7, ErrorCode.CANCEL, 8, ""); // refilled
    assertThat(next.events).hasSize(3);
  }

  @Test
  void openErrorsAreNotCountedAsResets() throws Exception {
    for (int i = 0; i < 20; i++) {
      guard.onOpenErr(2 * i + 2, ErrorCode.NOT_FOUND, 13, "no");
    }
    assertThat(next.events).hasSize(20);
    assertThat(metrics.refusals()).isEmpty();
  }

  @Test
  void pingsAboveTheRateAreAConnectionError() throws Exception {
    for (int i = 0; i < 4; i++) {
      guard.onPing(i);
    }
    assertThatThrownBy(() -> guard.onPing(9)).isInstanceOf(AbuseGuard.LimitException.class);
    assertThat(metrics.refusals(Refusals.PING_RATE)).isEqualTo(1);
  }

  @Test
  void everythingElsePassesThrough() throws Exception {
    guard.onData(1, Buffer.buffer("x"));
    guard.onWindowUpdate(1, 5);
    guard.onFin(1);
    guard.onPong(3);
    guard.onOpenOk(2);
    guard.onGoAway(0, ErrorCode.NO_ERROR, 0, "");
    guard.onUnknownFrame(0x42, 0, 1, 0);
    guard.onStreamError(1, 6, ErrorCode.FLOW_CONTROL_ERROR, "x");
    assertThat(next.events).containsExactly("DATA 1 x", "WINDOW_UPDATE 1 5", "FIN 1", "PONG 3",
        "OPEN_OK 2", "GOAWAY 0 NO_ERROR ", "UNKNOWN 66 1 0",
        "STREAM_ERROR 1 WINDOW_UPDATE FLOW_CONTROL_ERROR");
  }
}
