package io.relaymesh.relay.authz;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.relay.authz.AuthzFixture.Outcome;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.Waits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the relay logs for expected trouble, on the {@link AuthzFixture} (real control plane,
 * relays and agent): an app request refused 503 because the control plane is down is one line
 * (a warning carrying the cause, never the credential), and the presence report of an agent
 * whose workspace was deleted while it was connected (404 {@code agent_not_found}) is INFO, not
 * a warning. One test, in that order: the control plane is stopped half way.
 */
@ExtendWith(SharedPostgres.class)
class OutageLogTest {

  @Test
  @Timeout(180)
  void aDeletedWorkspacesPresenceIsInfoAndA503AppRefusalIsLoggedOnce(@TempDir Path dir) {
    try (AuthzFixture fx = AuthzFixture.start(dir); LogCapture logs = new LogCapture()) {
      // the workspace of a connected agent deleted: its presence cannot be reported any more
      String token = fx.control.createWorkspace(fx.alice, "doomed").getString("agentToken");
      TestAgent agent = await(TestAgent.connect(fx.vertx, fx.a.port(), fx.a.caCertPem(), token));
      try {
        Waits.until("alice/doomed's agent reported on eu/eu-1", Duration.ofSeconds(20),
            () -> fx.relaysOf(fx.alice, "alice/doomed").equals(List.of("eu/eu-1")));
        Resp del = fx.control.http.delete("/api/v1/workspaces/alice/doomed", fx.alice);
        assertThat(del.status()).as(del.toString()).isEqualTo(204);
        Waits.until("the presence of the deleted workspace's agent given up",
            Duration.ofSeconds(30), () -> presence(logs).size() > 0);
      } finally {
        agent.close();
      }
      assertThat(presence(logs)).as("presence lines of the deleted workspace's agent")
          .allMatch(l -> l.startsWith("INFO "));

      // the app resolved (cached) while the control plane is up; a new session token then
      // cannot be checked once it is down
      assertThat(fx.appRequest(fx.appLabel(), Map.of("Authorization", "Bearer " + fx.alice))
          .answer()).isEqualTo("200");
      String fresh = fx.control.login("alice", Control.PASSWORD);
      fx.control.close();
      logs.clear();
      Outcome out = fx.appRequest(fx.appLabel(), Map.of("Authorization", "Bearer " + fresh));
      assertThat(out.answer()).as(out.detail()).isEqualTo("503 control_plane_unavailable");
      try {
        Thread.sleep(300); // a late second line would show up by now
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      // the relay's own background reports (heartbeats) fail too: not this refusal's lines
      List<String> lines = logs.lines().stream().filter(l -> !l.split(" ", 3)[1]
          .startsWith(LogCapture.RELAY_LOGGER + ".control.")).toList();
      assertThat(lines).as("relay log lines of the 503 refusal").hasSize(1);
      assertThat(lines.get(0)).startsWith("WARN ").contains("refused: 503",
          "control_plane_unavailable", "control plane call failed");
      String tail = fresh.substring(fresh.length() - 16);
      assertThat(logs.lines()).noneMatch(l -> l.contains(fresh) || l.contains(tail));
    }
  }

  private static List<String> presence(LogCapture logs) {
    return logs.lines().stream().filter(l -> l.contains("presence of") && l.contains("not reported"))
        .toList();
  }
}
