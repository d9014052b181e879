package io.relaymesh.cli;

import static io.relaymesh.cli.MultiRelayTest.await;
import static io.relaymesh.cli.MultiRelayTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.cli.CliRunner.Result;
import io.relaymesh.config.ControlConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code relaymesh relays tokens create|list|revoke} against a real control plane, with a real
 * relay moved from the old token to the new one by a restart (the procedure of
 * docs/operations.md), and a relay whose token is revoked under it (refused, keeps retrying).
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class RelayTokensCommandTest {

  static final Pattern ID = Pattern.compile("created relay token (\\d+) of region (\\S+)");
  static Control c;
  static String url;
  static Vertx vertx;
  @TempDir static Path dir;
  final List<RelayServer> relays = new ArrayList<>();

  @BeforeAll
  static void start() {
    ControlConfig d = Control.config(dir.resolve("control"),
        SharedPostgres.url(SharedPostgres.newDatabase()));
    // heartbeats every second, so that a refused relay shows within the test's patience
    c = Control.start(new ControlConfig(d.listen(), d.accessUrl(), d.dataDir(), d.postgresUrl(),
        d.builtinRelay(), d.sessionTtl(), d.ticketTtl(), Duration.ofSeconds(3), d.keyRotation(),
        d.appTokenTtl(), d.appAllowedLowPorts()));
    String admin = c.setupAdmin();
    c.createUser(admin, "alice");
    url = c.server.url();
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(2));
  }

  @AfterEach
  void stopRelays() {
    relays.forEach(RelayServer::stop);
    relays.clear();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      await(vertx.close());
    }
    if (c != null) {
      c.close();
    }
  }

  RelayServer relay(String region, String replica, String token) {
    RelayServer s = await(RelayServer.start(vertx, RelayConfig.defaults()
        .withControl(url, token, region).withReplicaId(replica).withListen("127.0.0.1:0")
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("tls-" + replica)))));
    relays.add(s);
    await(s.firstRegistration());
    return s;
  }

  static CliRunner login(Path config, String user) {
    CliRunner cli = new CliRunner(config);
    Result r = cli.run(Control.PASSWORD + "\n", "login", url, "-u", user, "--password-stdin");
    assertThat(r.exit()).as(r.toString()).isZero();
    return cli;
  }

  static String created(Result r, String region) {
    assertThat(r.exit()).as(r.toString()).isZero();
    List<String> lines = r.out().lines().toList();
    Matcher m = ID.matcher(lines.get(0));
    assertThat(m.matches()).as(r.toString()).isTrue();
    assertThat(m.group(2)).isEqualTo(region);
    assertThat(lines.get(1)).startsWith("relay token (shown only once): rmr_");
    assertThat(lines.get(2)).isEqualTo("next: give it to the region's relays (their Secret), "
        + "restart them one by one, check 'relaymesh relays tokens list " + region + "', then "
        + "revoke the old token with 'relaymesh relays tokens revoke " + region + " ID'");
    return lines.get(1).replaceAll(".*: ", "");
  }

  static void assertOneLineError(Result r, String message) {
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(r.err()).as(r.toString()).isEqualTo("relaymesh: " + message + "\n");
  }

  @Test
  void createListRevokeWhileARelayMovesToTheNewToken(@TempDir Path config) throws Exception {
    CliRunner admin = login(config.resolve("admin"), Control.ADMIN);
    CliRunner alice = login(config.resolve("alice"), "alice");
    String old = admin.run(null, "relays", "create", "eu").out().lines()
        .filter(l -> l.startsWith("relay token")).findFirst().orElseThrow().replaceAll(".*: ", "");
    RelayServer eu1 = relay("eu", "eu-1", old);

    Result made = admin.run(null, "relays", "tokens", "create", "eu");
    String fresh = created(made, "eu");
    assertThat(fresh).isNotEqualTo(old).hasSize(47);
    JsonArray json = new JsonArray(admin.run(null, "relays", "tokens", "list", "eu", "-o", "json")
        .out());
    assertThat(json.size()).isEqualTo(2);
    long oldId = json.getJsonObject(0).getLong("id");
    long freshId = json.getJsonObject(1).getLong("id");
    assertThat(made.out()).startsWith("created relay token " + freshId + " of region eu\n");
    assertThat(json.encode()).doesNotContain(old).doesNotContain(fresh).doesNotContain("rmr_");

    Result list = admin.run(null, "relays", "tokens", "list", "eu");
    assertThat(list.exit()).as(list.toString()).isZero();
    List<String> lines = list.out().lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).matches("ID +STATE +CREATED +LAST USED +REVOKED +REPLICAS");
    String time = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";
    assertThat(lines.get(1)).matches(oldId + " +active +" + time + " +" + time + " +- +eu-1");
    assertThat(lines.get(2)).matches(freshId + " +active +" + time + " +- +- +-");
    assertThat(list.out()).doesNotContain("rmr_");

    // the old token is still in use: refused with the way out
    assertOneLineError(admin.run(null, "relays", "tokens", "revoke", "eu", "" + oldId),
        "relay token " + oldId + " of region 'eu' is still used by healthy replica(s) eu-1; "
            + "restart them with the new token first (they move over at their next "
            + "registration), or revoke anyway with force=true (relaymesh relays tokens revoke "
            + "eu " + oldId + " --force)");

    // the rolling restart: eu-1 drains and comes back with the new token
    await(eu1.drain(Duration.ofSeconds(10)));
    eu1.stop();
    relays.remove(eu1);
    RelayServer again = relay("eu", "eu-1", fresh);
    assertThat(again.ready()).isTrue();
    lines = admin.run(null, "relays", "tokens", "list", "eu").out().lines().toList();
    assertThat(lines.get(1)).matches(oldId + " +active +" + time + " +" + time + " +- +-");
    assertThat(lines.get(2)).matches(freshId + " +active +" + time + " +" + time + " +- +eu-1");

    Result revoked = admin.run(null, "relays", "tokens", "revoke", "eu", "" + oldId);
    assertThat(revoked.exit()).as(revoked.toString()).isZero();
    assertThat(revoked.out()).isEqualTo("revoked relay token " + oldId + " of region eu\n");
    lines = admin.run(null, "relays", "tokens", "list", "eu").out().lines().toList();
    assertThat(lines.get(1)).matches(oldId + " +revoked +" + time + " +" + time + " +" + time
        + " +-");
    // the relay on the new token stays registered and healthy through its heartbeats
    Thread.sleep(1500);
    assertThat(region(alice, "eu").getJsonArray("replicas").getJsonObject(0)
        .getBoolean("healthy")).isTrue();
    // a relay started with the old token is refused, naming the reason
    assertThat(c.http.post("/api/v1/relay/heartbeat", old, new JsonObject()
        .put("replicaId", "eu-1")).json().getString("message")).startsWith("relay token revoked");

    // the last active token stays
    assertOneLineError(admin.run(null, "relays", "tokens", "revoke", "eu", "" + freshId),
        "relay token " + freshId + " is the last active relay token of region 'eu': revoking "
            + "it would cut off every relay of the region; create a new token first (relaymesh "
            + "relays tokens create eu), or delete the region (relaymesh relays delete eu)");
    // admins only; unknown names are named
    assertOneLineError(alice.run(null, "relays", "tokens", "list", "eu"),
        "user 'alice' is not an admin");
    assertOneLineError(alice.run(null, "relays", "tokens", "create", "eu"),
        "user 'alice' is not an admin");
    assertOneLineError(alice.run(null, "relays", "tokens", "revoke", "eu", "" + freshId),
        "user 'alice' is not an admin");
    assertOneLineError(admin.run(null, "relays", "tokens", "list", "nowhere"),
        "region 'nowhere' not found");
    assertOneLineError(admin.run(null, "relays", "tokens", "revoke", "eu", "999999"),
        "relay token 999999 of region 'eu' not found");
    Result usage = admin.run(null, "relays", "tokens", "revoke", "eu", "abc");
    assertThat(usage.exit()).as(usage.toString()).isEqualTo(2);
    // -o json of create
    JsonObject third = new JsonObject(admin.run(null, "relays", "tokens", "create", "eu", "-o",
        "json").out());
    assertThat(third.getString("token")).startsWith("rmr_");
    assertThat(third.getLong("id")).isGreaterThan(freshId);
    assertThat(third.getString("region")).isEqualTo("eu");
    assertThat(admin.run(null, "relays", "delete", "eu").exit()).isZero();
  }

  @Test
  void aRelayWhoseTokenIsRevokedIsRefusedAndKeepsRetrying(@TempDir Path config) throws Exception {
    CliRunner admin = login(config, Control.ADMIN);
    String old = admin.run(null, "relays", "create", "us").out().lines()
        .filter(l -> l.startsWith("relay token")).findFirst().orElseThrow().replaceAll(".*: ", "");
    RelayServer us1 = relay("us", "us-1", old);
    created(admin.run(null, "relays", "tokens", "create", "us"), "us");
    long oldId = new JsonArray(admin.run(null, "relays", "tokens", "list", "us", "-o", "json")
        .out()).getJsonObject(0).getLong("id");
    long before = refusedHeartbeats();
    Result forced = admin.run(null, "relays", "tokens", "revoke", "us", "" + oldId, "--force");
    assertThat(forced.exit()).as(forced.toString()).isZero();
    // the relay's heartbeats (every second) are refused; it does not give up
    waitFor(() -> refusedHeartbeats() >= before + 3, () -> "three refused heartbeats, have "
        + (refusedHeartbeats() - before));
    // the relay leaves the load balancer: not ready, saying why
    waitFor(() -> us1.notReadyReason() != null && us1.notReadyReason().contains("refuses this"
        + " relay's token"), () -> "us-1 not ready, reason: " + us1.notReadyReason());
    // and the control plane stops routing to it once its heartbeats are missing
    waitFor(() -> !region(admin, "us").getJsonArray("replicas").getJsonObject(0)
        .getBoolean("healthy"), () -> "us-1 unhealthy");
    // every metric of both, including the relay's refused control calls, is documented
    assertThat(MetricsDoc.load().undocumented(c.http.get("/metrics", null).text())).isEmpty();
    assertThat(MetricsDoc.load().undocumented(us1.metrics().scrape())).isEmpty();
    assertThat(us1.metrics().scrape()).contains("status-4xx");
    assertThat(admin.run(null, "relays", "delete", "us").exit()).isZero();
  }

  static JsonObject region(CliRunner cli, String name) {
    Result r = cli.run(null, "relays", "list", "-o", "json");
    assertThat(r.exit()).as(r.toString()).isZero();
    return new JsonArray(r.out()).stream().map(JsonObject.class::cast)
        .filter(g -> g.getString("region").equals(name)).findFirst().orElseThrow();
  }

  /** Heartbeats the control plane answered 401, from its own metrics. */
  static long refusedHeartbeats() {
    String scrape = c.http.get("/metrics", null).text();
    return scrape.lines().filter(l -> l.startsWith("relaymesh_control_http_request_seconds_count")
            && l.contains("route=\"/api/v1/relay/heartbeat\"") && l.contains("status=\"401\""))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }
}
