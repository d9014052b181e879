package io.relaymesh.deploy;

import static io.relaymesh.deploy.Manifests.list;
import static io.relaymesh.deploy.Manifests.map;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.telemetry.MetricsDoc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The Grafana dashboard and the alert rules read only metrics that {@code docs/metrics.md}
 * lists (the contract the components implement), and the chart's PrometheusRule is the same set
 * of rules as {@code deploy/prometheus/relaymesh-rules.yaml}.
 */
class MonitoringTest {

  static final Path DASHBOARD = Charts.REPO.resolve("deploy/grafana/relay-overview.json");
  static final Path RULES = Charts.REPO.resolve("deploy/prometheus/relaymesh-rules.yaml");
  /** Series Prometheus makes itself for every target; not Relaymesh's to document. */
  static final Set<String> PROMETHEUS_BUILTIN = Set.of("up");
  static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.*),\\s*\\w+\\s*\\)$");

  @Test
  void extractsMetricNamesFromPromQl() {
    assertThat(PromQl.metricNames("sum by (kind, le) (rate(a_seconds_bucket{region=~\"$region\","
        + "x!=\"y (z)\"}[$__rate_interval])) / on (instance) group_left b_total > 0.9 and c"))
        .containsExactly("a_seconds_bucket", "b_total", "c");
    assertThat(PromQl.metricNames("histogram_quantile(0.99, sum without (pod) (rate(h_bucket[5m])))"
        + " > bool 1e3")).containsExactly("h_bucket");
  }

  @Test
  void dashboardReadsOnlyDocumentedMetrics() throws IOException {
    Map<String, Object> dash = load(DASHBOARD);
    List<String> exprs = dashboardExpressions(dash);
    assertThat(exprs).hasSizeGreaterThan(20);
    Set<String> used = new TreeSet<>();
    exprs.forEach(e -> used.addAll(PromQl.metricNames(e)));
    assertThat(undocumented(used)).as("metrics in %s missing from docs/metrics.md", DASHBOARD)
        .isEmpty();
    // what the issue asks the dashboard to show
    assertThat(used).contains("relaymesh_relay_agent_tunnels", "relaymesh_relay_client_sessions",
        "relaymesh_relay_streams", "relaymesh_relay_stream_bytes_total",
        "relaymesh_relay_stream_open_seconds_bucket", "relaymesh_relay_tunnel_rtt_seconds_bucket",
        "relaymesh_relay_handshake_failures_total", "relaymesh_relay_refusals_total",
        "relaymesh_relay_tls_handshakes_total", "relaymesh_relay_control_errors_total",
        "relaymesh_relay_draining", "relaymesh_relay_ready", "jvm_memory_used_bytes",
        "jvm_buffer_memory_used_bytes", "process_resident_memory_bytes");
  }

  @Test
  void dashboardIsImportableWithDatasourceRegionAndInstanceVariables() throws IOException {
    Map<String, Object> dash = load(DASHBOARD);
    assertThat(dash.get("uid")).isEqualTo("relaymesh-relay-overview");
    assertThat(dash).containsKeys("title", "schemaVersion", "panels").doesNotContainKey("id");
    Map<String, Map<String, Object>> vars = new LinkedHashMap<>();
    for (Map<String, Object> v : list(map(dash, "templating"), "list")) {
      vars.put((String) v.get("name"), v);
    }
    assertThat(vars).containsKeys("datasource", "region", "instance");
    assertThat(vars.get("datasource")).containsEntry("type", "datasource")
        .containsEntry("query", "prometheus");
    Set<Object> ids = new HashSet<>();
    for (Map<String, Object> panel : panels(dash)) {
      assertThat(ids.add(panel.get("id"))).as("panel id %s unique", panel.get("id")).isTrue();
      if (!"row".equals(panel.get("type"))) {
        assertThat(map(panel, "datasource").get("uid")).as("panel %s", panel.get("title"))
            .isEqualTo("${datasource}");
        for (Map<String, Object> t : list(panel, "targets")) {
          String expr = (String) t.get("expr");
          assertThat(expr).as("panel %s filters by the variables", panel.get("title"))
              .contains("region=~\"$region\"").contains("instance=~\"$instance\"");
        }
      }
    }
  }

  @Test
  void alertRulesReadOnlyDocumentedMetricsAndCoverTheOperatorsQuestions() throws IOException {
    Map<String, Map<String, Object>> rules = rules(load(RULES));
    assertThat(rules.keySet()).contains("RelayDown", "RelayNotReady", "RelayDrainingTooLong",
        "RelayHandshakeFailuresHigh", "RelayRefusalsHigh", "RelayControlPlaneErrors",
        "RelayStreamOpenSlow", "RelayNoAgentTunnels", "RelayMemoryNearLimit");
    Set<String> used = new TreeSet<>();
    for (Map.Entry<String, Map<String, Object>> r : rules.entrySet()) {
      Map<String, Object> rule = r.getValue();
      assertThat(rule).as(r.getKey()).containsKeys("expr", "for", "labels", "annotations");
      assertThat(map(rule, "labels").get("severity")).as(r.getKey()).isIn("critical", "warning");
      assertThat(map(rule, "annotations")).as(r.getKey()).containsKeys("summary", "description");
      used.addAll(PromQl.metricNames((String) rule.get("expr")));
    }
    assertThat(undocumented(used)).as("metrics in %s missing from docs/metrics.md", RULES).isEmpty();
  }

  @Test
  void chartPrometheusRuleHasTheSameRelayRulesScopedToItsRegion() throws IOException {
    Map<String, Map<String, Object>> plain = rules(load(RULES));
    Manifests m = new Manifests(Charts.render(Charts.RELAY, "relay-eu",
        c -> RelayChartTest.required(c).set("prometheusRule.enabled", true)));
    Map<String, Map<String, Object>> chart = new LinkedHashMap<>();
    for (Map<String, Object> group : list(map(m.one("PrometheusRule"), "spec"), "groups")) {
      for (Map<String, Object> r : list(group, "rules")) {
        chart.put((String) r.get("alert"), r);
      }
    }
    Set<String> relayRules = rules(Map.of("groups", List.of(group(load(RULES), "relaymesh-relay"))))
        .keySet();
    assertThat(chart.keySet()).containsExactlyInAnyOrderElementsOf(relayRules);
    for (String name : relayRules) {
      String chartExpr = (String) chart.get(name).get("expr");
      String plainExpr = (String) plain.get(name).get("expr");
      assertThat(chartExpr).as(name).contains("region=\"eu\"");
      // every selector of the chart's rule names the region
      Matcher sel = Pattern.compile("([a-z_]+)\\{([^}]*)}").matcher(chartExpr);
      while (sel.find()) {
        assertThat(sel.group(2)).as("%s: %s", name, sel.group()).startsWith("region=\"eu\"");
      }
      assertThat(normalize(chartExpr)).as(name).isEqualTo(normalize(plainExpr));
      assertThat(chart.get(name).get("for")).as(name).isEqualTo(plain.get(name).get("for"));
      assertThat(map(chart.get(name), "labels")).as(name).isEqualTo(map(plain.get(name), "labels"));
    }
    assertThat(undocumented(chart.values().stream()
        .flatMap(r -> PromQl.metricNames((String) r.get("expr")).stream())
        .collect(java.util.stream.Collectors.toSet()))).isEmpty();
  }

  /** An expression without its region matchers: the chart's and the plain file's must agree. */
  static String normalize(String expr) {
    return expr.replace("region=\"eu\",", "").replace("region!=\"\",", "")
        .replace("{region=\"eu\"}", "").replace("{region!=\"\"}", "");
  }

  static List<String> undocumented(Set<String> used) {
    Map<String, MetricsDoc.Entry> doc = MetricsDoc.load().entries();
    List<String> missing = new ArrayList<>();
    for (String name : used) {
      if (PROMETHEUS_BUILTIN.contains(name) || doc.containsKey(name)) {
        continue;
      }
      Matcher suffix = Pattern.compile("^(.+)_(bucket|count|sum)$").matcher(name);
      if (suffix.matches() && doc.containsKey(suffix.group(1))) {
        String type = doc.get(suffix.group(1)).type();
        if ("histogram".equals(type) || "summary".equals(type) && !"bucket".equals(suffix.group(2))) {
          continue;
        }
      }
      missing.add(name);
    }
    return missing;
  }

  static List<Map<String, Object>> panels(Map<String, Object> dash) {
    List<Map<String, Object>> all = new ArrayList<>();
    for (Map<String, Object> p : list(dash, "panels")) {
      all.add(p);
      if (p.get("panels") instanceof List<?>) {
        all.addAll(list(p, "panels"));
      }
    }
    return all;
  }

  static List<String> dashboardExpressions(Map<String, Object> dash) {
    List<String> exprs = new ArrayList<>();
    for (Map<String, Object> p : panels(dash)) {
      if (p.get("targets") instanceof List<?>) {
        list(p, "targets").forEach(t -> exprs.add((String) t.get("expr")));
      }
    }
    for (Map<String, Object> v : list(map(dash, "templating"), "list")) {
      if ("query".equals(v.get("type"))) {
        String q = (String) map(v, "query").get("query");
        Matcher lv = LABEL_VALUES.matcher(q);
        exprs.add(lv.matches() ? lv.group(1) : q);
      }
    }
    return exprs;
  }

  static Map<String, Object> group(Map<String, Object> file, String name) {
    return list(file, "groups").stream().filter(g -> name.equals(g.get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no rule group " + name));
  }

  static Map<String, Map<String, Object>> rules(Map<String, Object> file) {
    Map<String, Map<String, Object>> rules = new LinkedHashMap<>();
    for (Map<String, Object> group : list(file, "groups")) {
      for (Map<String, Object> r : list(group, "rules")) {
        assertThat(rules.put((String) r.get("alert"), r)).as("alert %s once", r.get("alert")).isNull();
      }
    }
    return rules;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> load(Path file) throws IOException {
    return (Map<String, Object>) new Load(LoadSettings.builder().build())
        .loadFromString(Files.readString(file));
  }
}
