package io.relaymesh.relay.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.relaymesh.control.tickets.TicketClaims;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.tunnel.OpenRequest.Allowed;
import io.relaymesh.relay.tunnel.OpenRequest.Refused;
import io.vertx.core.buffer.Buffer;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenRequestTest {

  static TicketClaims ticket(long workspaceId, String workspace, long agentId, int port) {
    return new TicketClaims("t-" + port, "http://cp", "alice", 1, workspace, workspaceId, "main",
        agentId, port, List.of(TicketClaims.ALL_RELAYS), Instant.now(), Instant.now());
  }

  static final TicketClaims DEV_8080 = ticket(10, "alice/dev", 100, 8080);

  @Test
  void tcpToTheTicketsLoopbackPortIsAllowed() {
    for (String target : List.of("127.0.0.1:8080", "localhost:8080")) {
      assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, target))
          .isEqualTo(new Allowed(DEV_8080, WireSpec.KIND_TCP, "127.0.0.1:8080", 8080));
    }
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, "[::1]:8080"))
        .isEqualTo(new Allowed(DEV_8080, WireSpec.KIND_TCP, "[::1]:8080", 8080));
  }

  @Test
  void otherPortsHostsAndKindsAreRefused() {
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, "127.0.0.1:8081"))
        .isInstanceOfSatisfying(Refused.class, r -> {
          assertThat(r.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
          assertThat(r.reason()).contains("ticket is for port 8080").contains("not port 8081");
        });
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, "10.0.0.1:8080"))
        .isInstanceOfSatisfying(Refused.class,
            r -> assertThat(r.code()).isEqualTo(ErrorCode.FORBIDDEN));
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, "127.0.0.1"))
        .isInstanceOfSatisfying(Refused.class,
            r -> assertThat(r.code()).isEqualTo(ErrorCode.UNREACHABLE));
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_TCP, "127.0.0.1:99999"))
        .isInstanceOf(Refused.class);
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_SSH, ""))
        .isInstanceOfSatisfying(Refused.class,
            r -> assertThat(r.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
    assertThat(OpenRequest.decide(DEV_8080, null, WireSpec.KIND_APP, "127.0.0.1:8080"))
        .isInstanceOfSatisfying(Refused.class,
            r -> assertThat(r.code()).isEqualTo(ErrorCode.UNSUPPORTED));
  }

  @Test
  void sshNeedsAPort22Ticket() {
    TicketClaims ssh = ticket(10, "alice/dev", 100, 22);
    assertThat(OpenRequest.decide(ssh, null, WireSpec.KIND_SSH, "anything"))
        .isEqualTo(new Allowed(ssh, WireSpec.KIND_SSH, "", 22));
  }

  @Test
  void perStreamTicketMustNameTheSameWorkspaceAndAgent() {
    TicketClaims same = ticket(10, "alice/dev", 100, 5432);
    assertThat(OpenRequest.decide(DEV_8080, same, WireSpec.KIND_TCP, "127.0.0.1:5432"))
        .isEqualTo(new Allowed(same, WireSpec.KIND_TCP, "127.0.0.1:5432", 5432));
    // the per-stream ticket replaces the session ticket: its port, not the session's
    assertThat(OpenRequest.decide(DEV_8080, same, WireSpec.KIND_TCP, "127.0.0.1:8080"))
        .isInstanceOf(Refused.class);
    TicketClaims otherWorkspace = ticket(11, "bob/dev", 100, 5432);
    TicketClaims otherAgent = ticket(10, "alice/dev", 101, 5432);
    for (TicketClaims t : List.of(otherWorkspace, otherAgent)) {
      assertThat(OpenRequest.decide(DEV_8080, t, WireSpec.KIND_TCP, "127.0.0.1:5432"))
          .isInstanceOfSatisfying(Refused.class,
              r -> assertThat(r.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
    }
  }

  @Test
  void streamTicketIsReadFromJsonMetadata() {
    assertThat(OpenRequest.streamTicket(Buffer.buffer())).isNull();
    assertThat(OpenRequest.streamTicket(Buffer.buffer("{\"user\":\"x\"}"))).isNull();
    assertThat(OpenRequest.streamTicket(Buffer.buffer("{\"ticket\":\"abc\"}"))).isEqualTo("abc");
    assertThatThrownBy(() -> OpenRequest.streamTicket(Buffer.buffer("not json")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OpenRequest.streamTicket(Buffer.buffer("{\"ticket\":5}")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theSessionTicketAloneAuthorizesOpensOnlyUntilItExpires() {
    Instant exp = DEV_8080.expiresAt();
    java.time.Duration skew = java.time.Duration.ofSeconds(30);
    assertThat(OpenRequest.expiredSessionTicket(DEV_8080, exp.minusSeconds(60), skew)).isNull();
    assertThat(OpenRequest.expiredSessionTicket(DEV_8080, exp.plusSeconds(30), skew)).isNull();
    assertThat(OpenRequest.expiredSessionTicket(DEV_8080, exp.plusSeconds(31), skew))
        .satisfies(r -> {
          assertThat(r.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
          assertThat(r.reason()).contains("session ticket t-8080").contains("alice/dev")
              .contains("expired at " + exp);
        });
  }
}
