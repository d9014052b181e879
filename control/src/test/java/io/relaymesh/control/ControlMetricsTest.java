package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.telemetry.Metrics;
import io.relaymesh.telemetry.MetricsDoc;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} of a real control plane (embedded PostgreSQL) after logins, tickets and
 * API calls: exact counts, route templates instead of paths, pool gauges, and every exposed
 * metric documented in docs/metrics.md.
 */
@ExtendWith(SharedPostgres.class)
@Timeout(120)
class ControlMetricsTest {

  static final String FP = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
      + "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
  /** Names that must never appear in the exposition. */
  static final List<String> NAMES = List.of("zorro", "secretproj", "ghostuser", "frankfurt",
      "sydney", "fra-7");

  @Test
  void countsRequestsLoginsTicketsQueriesAndRelaysWithoutNames(@TempDir Path dir)
      throws Exception {
    try (Control c = Control.startOnNewDatabase(dir)) {
      String admin = c.setupAdmin();                          // setup 201, login 200
      String zorro = c.createUser(admin, "zorro");            // users 201, login 200
      c.createWorkspace(zorro, "secretproj");                 // workspaces 201

      // failed logins: 5 for an unknown user, then the 6th is rate limited (not checked)
      for (int i = 0; i < 5; i++) {
        assertThat(login(c, "ghostuser", "nope nope nope").status()).isEqualTo(401);
      }
      assertThat(login(c, "ghostuser", "nope nope nope").status()).isEqualTo(429);
      assertThat(login(c, "zorro", "wrong password!").status()).isEqualTo(401);
      assertThat(c.http.post("/api/v1/login", null, new JsonObject().put("username", "zorro"))
          .status()).isEqualTo(400);
      // the web login: a wrong password and an empty form
      assertThat(webLogin(c, "zorro", "wrong password!")).isEqualTo(401);
      assertThat(webLogin(c, "zorro", "")).isEqualTo(400);

      // a duplicate user: a failed query (unique violation) and a 409
      assertThat(c.http.post("/api/v1/users", admin, new JsonObject().put("username", "zorro")
          .put("password", Control.PASSWORD)).status()).isEqualTo(409);

      // API calls with names in their paths
      assertThat(c.http.get("/api/v1/workspaces/zorro/secretproj", zorro).status()).isEqualTo(200);
      assertThat(c.http.get("/api/v1/workspaces/zorro/nothere", zorro).status()).isEqualTo(404);
      assertThat(c.http.get("/api/v1/nope/zorro/secretproj", zorro).status()).isEqualTo(404);

      // a client ticket
      Resp t = c.http.post("/api/v1/tickets", zorro, new JsonObject()
          .put("workspace", "zorro/secretproj").put("agent", "main").put("port", 22));
      assertThat(t.status()).as(t.toString()).isEqualTo(201);

      // two relay replicas in two regions and a peer ticket
      String fra = c.createRegion(admin, "frankfurt");
      String syd = c.createRegion(admin, "sydney");
      register(c, fra, "fra-7", FP);
      register(c, syd, "syd-1", null);
      Resp p = c.http.post("/api/v1/relay/peer-ticket", syd, new JsonObject()
          .put("replicaId", "syd-1").put("targetRegion", "frankfurt")
          .put("targetReplicaId", "fra-7"));
      assertThat(p.status()).as(p.toString()).isEqualTo(200);

      String scrape = scrape(c);
      assertThat(value(scrape, "relaymesh_control_relays", Map.of("health", "healthy")))
          .isEqualTo(2.0);
      assertThat(value(scrape, "relaymesh_control_relays", Map.of("health", "unhealthy")))
          .isEqualTo(0.0);
      // one replica stops sending heartbeats
      c.sql("UPDATE relay_replicas SET last_heartbeat_at = now() - interval '1 hour' "
          + "WHERE replica_id = 'syd-1'");
      scrape = scrape(c);

      // logins
      String lf = "relaymesh_control_login_failures_total";
      assertThat(value(scrape, lf, Map.of("reason", "unknown-user"))).isEqualTo(5.0);
      assertThat(value(scrape, lf, Map.of("reason", "rate-limited"))).isEqualTo(1.0);
      assertThat(value(scrape, lf, Map.of("reason", "bad-password"))).isEqualTo(2.0);
      assertThat(value(scrape, lf, Map.of("reason", "bad-request"))).isEqualTo(2.0);

      // tickets
      String ti = "relaymesh_control_tickets_issued_total";
      assertThat(value(scrape, ti, Map.of("type", "client"))).isEqualTo(1.0);
      assertThat(value(scrape, ti, Map.of("type", "peer"))).isEqualTo(1.0);
      assertThat(value(scrape, ti, Map.of("type", "app"))).isEqualTo(0.0);

      // relays by health, read from the database at scrape time
      assertThat(value(scrape, "relaymesh_control_relays", Map.of("health", "healthy")))
          .isEqualTo(1.0);
      assertThat(value(scrape, "relaymesh_control_relays", Map.of("health", "unhealthy")))
          .isEqualTo(1.0);

      // HTTP requests by route template, method and status
      String rq = "relaymesh_control_http_request_seconds_count";
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/login", "method", "POST",
          "status", "200"))).isEqualTo(2.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/login", "method", "POST",
          "status", "401"))).isEqualTo(6.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/login", "method", "POST",
          "status", "429"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/login", "method", "POST",
          "status", "400"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/login", "method", "POST",
          "status", "401"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/login", "method", "POST",
          "status", "400"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/workspaces/:owner/:name",
          "method", "GET", "status", "200"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/workspaces/:owner/:name",
          "method", "GET", "status", "404"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "unmatched", "method", "GET",
          "status", "404"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/tickets", "method", "POST",
          "status", "201"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/api/v1/users", "method", "POST",
          "status", "409"))).isEqualTo(1.0);
      assertThat(value(scrape, rq, Map.of("route", "/metrics", "method", "GET",
          "status", "200"))).isEqualTo(1.0);
      for (String route : labelValues(scrape, "relaymesh_control_http_request_seconds_count",
          "route")) {
        assertThat(route).matches("unmatched|/[a-z0-9/:.*-]*");
      }

      // database: pool gauges and query latency by store operation
      String pool = "relaymesh_control_db_pool_connections";
      assertThat(value(scrape, pool, Map.of("state", "max"))).isEqualTo(8.0);
      assertThat(value(scrape, pool, Map.of("state", "in-use"))).isEqualTo(0.0);
      assertThat(value(scrape, pool, Map.of("state", "idle"))).isBetween(1.0, 8.0);
      assertThat(value(scrape, "relaymesh_control_db_pool_waiting", Map.of())).isEqualTo(0.0);
      String q = "relaymesh_control_db_query_seconds_count";
      assertThat(value(scrape, q, Map.of("query", "users.create", "outcome", "error")))
          .isEqualTo(1.0);
      assertThat(value(scrape, q, Map.of("query", "sessions.create", "outcome", "ok")))
          .isEqualTo(2.0);
      assertThat(value(scrape, q, Map.of("query", "sessions.record-failure", "outcome", "ok")))
          .isEqualTo(7.0);
      assertThat(value(scrape, q, Map.of("query", "relays.health-counts", "outcome", "ok")))
          .isEqualTo(2.0);
      for (String op : labelValues(scrape, q, "query")) {
        assertThat(op).matches("[a-z-]+\\.[a-z-]+");
      }

      for (String name : NAMES) {
        assertThat(scrape).doesNotContain(name);
      }
      assertThat(MetricsDoc.load().undocumented(scrape)).isEmpty();
    }
  }

  @Test
  void eachControlPlaneHasItsOwnRegistry(@TempDir Path a, @TempDir Path b) throws Exception {
    try (Control one = Control.startOnNewDatabase(a); Control two = Control.startOnNewDatabase(b)) {
      assertThat(login(one, "nobody", "x").status()).isEqualTo(401);
      String s1 = scrape(one);
      String s2 = scrape(two);
      assertThat(value(s1, "relaymesh_control_login_failures_total",
          Map.of("reason", "unknown-user"))).isEqualTo(1.0);
      assertThat(value(s2, "relaymesh_control_login_failures_total",
          Map.of("reason", "unknown-user"))).isEqualTo(0.0);
      assertThat(one.server.metrics().registry()).isNotSameAs(two.server.metrics().registry());
    }
  }

  static Resp login(Control c, String user, String password) {
    return c.http.post("/api/v1/login", null,
        new JsonObject().put("username", user).put("password", password));
  }

  static int webLogin(Control c, String user, String password) throws Exception {
    String form = "username=" + URLEncoder.encode(user, StandardCharsets.UTF_8) + "&password="
        + URLEncoder.encode(password, StandardCharsets.UTF_8);
    HttpRequest req = HttpRequest.newBuilder(URI.create(c.server.url() + "/login"))
        .timeout(Duration.ofSeconds(20)).header("Origin", c.server.url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form)).build();
    return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  static void register(Control c, String token, String replica, String fingerprint) {
    JsonObject b = new JsonObject().put("replicaId", replica)
        .put("publicUrl", "https://" + replica + ".example.com");
    if (fingerprint != null) {
      b.put("tlsFingerprint", fingerprint);
    }
    Resp r = c.http.post("/api/v1/relay/register", token, b);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
  }

  static String scrape(Control c) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(c.server.url() + "/metrics"))
            .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue(Metrics.CONTENT_TYPE);
    return r.body();
  }

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** The samples of one metric: labels -> value. */
  static List<Map.Entry<Map<String, String>, Double>> samples(String scrape, String name) {
    List<Map.Entry<Map<String, String>, Double>> out = new ArrayList<>();
    for (String line : scrape.split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!m.matches() || !m.group(1).equals(name)) {
        continue;
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      out.add(Map.entry(labels, Double.parseDouble(m.group(4))));
    }
    return out;
  }

  /** The value of the one sample of {@code name} whose labels include {@code want}. */
  static double value(String scrape, String name, Map<String, String> want) {
    List<Double> found = new ArrayList<>();
    for (var s : samples(scrape, name)) {
      if (s.getKey().entrySet().containsAll(want.entrySet())) {
        found.add(s.getValue());
      }
    }
    assertThat(found).as("samples of %s with %s in:%n%s", name, want, scrape).hasSize(1);
    return found.get(0);
  }

  static TreeSet<String> labelValues(String scrape, String name, String label) {
    TreeSet<String> out = new TreeSet<>();
    for (var s : samples(scrape, name)) {
      out.add(s.getKey().get(label));
    }
    return out;
  }
}
