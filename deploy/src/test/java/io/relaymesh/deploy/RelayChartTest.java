package io.relaymesh.deploy;

import static io.relaymesh.deploy.Manifests.list;
import static io.relaymesh.deploy.Manifests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** {@code helm/relaymesh-relay}, linted and rendered by the real Helm engine. */
class RelayChartTest {

  /** The values the chart requires, nothing else: the chart's defaults otherwise. */
  static TemplateCommand required(TemplateCommand c) {
    return c.set("region", "eu").set("controlUrl", "https://relaymesh.example.com")
        .set("publicUrl", "https://relay.eu.example.com")
        .set("token.existingSecret", "relay-eu-token").set("tls.secretName", "relay-eu-tls");
  }

  static Manifests render(UnaryOperator<TemplateCommand> options) {
    return new Manifests(Charts.render(Charts.RELAY, "relay-eu", options));
  }

  /** An example values file, as the release named after it (relay-eu-1.yaml: relay-eu-1). */
  static Manifests example(String file) {
    return new Manifests(Charts.render(Charts.RELAY, file.replace(".yaml", ""),
        c -> c.withValuesFile(Charts.EXAMPLES.resolve(file))));
  }

  /** The label that marks the ClusterIP Service of the admin port. */
  static final String METRICS_LABEL = "relaymesh.io/service";

  /** The Service agents and clients reach (the one without the metrics label). */
  static Map<String, Object> publicService(Manifests m) {
    List<Map<String, Object>> found = m.ofKind("Service").stream()
        .filter(s -> !map(s, "metadata", "labels").containsKey(METRICS_LABEL)).toList();
    assertThat(found).as("public Services").hasSize(1);
    return found.get(0);
  }

  /** The ClusterIP Service of the admin port. */
  static Map<String, Object> metricsService(Manifests m) {
    List<Map<String, Object>> found = m.ofKind("Service").stream()
        .filter(s -> "metrics".equals(map(s, "metadata", "labels").get(METRICS_LABEL))).toList();
    assertThat(found).as("metrics Services").hasSize(1);
    return found.get(0);
  }

  @Test
  void lintPassesWithoutWarnings() {
    LintResult lint = new Helm(Charts.RELAY).lint().strict().call();
    assertThat(lint.isFailed()).as("lint: %s", lint.getMessages()).isFalse();
    assertThat(lint.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
  }

  @Test
  void defaultsRenderTwoReplicasBehindALoadBalancerSpreadFromTheRegionsOtherRelays() {
    Manifests m = render(RelayChartTest::required);
    Map<String, Object> deployment = m.one("Deployment");
    assertThat(map(deployment, "spec").get("replicas")).isEqualTo(2);
    Map<String, Object> rolling = map(deployment, "spec", "strategy", "rollingUpdate");
    assertThat(rolling.get("maxUnavailable")).as("a new replica is ready before an old drains")
        .isEqualTo(0);

    assertThat(m.ofKind("Service")).hasSize(2);
    Map<String, Object> service = publicService(m);
    assertThat(map(service, "spec").get("type")).isEqualTo("LoadBalancer");
    assertThat(list(map(service, "spec"), "ports")).as("the LoadBalancer exposes only the relay port")
        .singleElement().satisfies(port -> assertThat(port).containsEntry("port", 443)
            .containsEntry("targetPort", "https"));
    assertThat(map(service, "spec", "selector"))
        .isEqualTo(map(deployment, "spec", "selector", "matchLabels"));

    Map<String, Object> anti = map(m.podSpec(), "affinity", "podAntiAffinity");
    assertThat(anti).containsOnlyKeys("preferredDuringSchedulingIgnoredDuringExecution");
    Map<String, Object> term = map(list(anti, "preferredDuringSchedulingIgnoredDuringExecution").get(0),
        "podAffinityTerm");
    assertThat(term.get("topologyKey")).isEqualTo("kubernetes.io/hostname");
    Map<String, Object> spread = map(term, "labelSelector", "matchLabels");
    assertThat(spread).as("all relays of the region, whatever their release").isEqualTo(Map.of(
        "app.kubernetes.io/name", "relaymesh-relay", "relaymesh.io/region", "eu"));
    assertThat(map(deployment, "spec", "template", "metadata", "labels")).containsAllEntriesOf(spread);

    assertThat(map(m.one("PodDisruptionBudget"), "spec", "selector", "matchLabels"))
        .isEqualTo(map(deployment, "spec", "selector", "matchLabels"));
    assertThat(m.has("ServiceMonitor")).isFalse();
    assertThat(m.has("PrometheusRule")).isFalse();
    assertThat(m.has("HorizontalPodAutoscaler")).isFalse();
    assertThat(m.has("Secret")).as("the chart never creates a Secret").isFalse();

    assertThat(m.envValue("RELAYMESH_RELAY_REGION")).isEqualTo("eu");
    assertThat(m.envValue("RELAYMESH_RELAY_CONTROL_URL")).isEqualTo("https://relaymesh.example.com");
    assertThat(m.envValue("RELAYMESH_RELAY_PUBLIC_URL")).isEqualTo("https://relay.eu.example.com");
    assertThat(m.envValue("RELAYMESH_RELAY_LISTEN")).isEqualTo("0.0.0.0:8443");
    assertThat(m.envValue("RELAYMESH_RELAY_REPLICA_ID")).isEqualTo("$(POD_NAME)");
    assertThat(map(m.env("POD_NAME"), "valueFrom", "fieldRef").get("fieldPath"))
        .isEqualTo("metadata.name");
    // peers dial the pod, not the shared load balancer
    assertThat(map(m.env("POD_IP"), "valueFrom", "fieldRef").get("fieldPath"))
        .isEqualTo("status.podIP");
    assertThat(m.envValue("RELAYMESH_RELAY_PEER_ADDRESS")).isEqualTo("$(POD_IP):8443");
    assertThat(list(m.container(), "env")).extracting(e -> e.get("name"))
        .containsSubsequence("POD_IP", "RELAYMESH_RELAY_PEER_ADDRESS");
    assertThat(list(m.container(), "env")).extracting(e -> e.get("name"))
        .doesNotContain("RELAYMESH_RELAY_APPS_HOST");
    assertThat(m.container().get("image")).isEqualTo("ghcr.io/relaymesh/relaymesh:0.1.0");
    assertThat(m.container().get("command")).asList()
        .containsSubsequence("java", "-jar", "/opt/relaymesh/relaymesh.jar")
        .anyMatch(o -> String.valueOf(o).startsWith("-XX:MaxRAMPercentage="));
    assertThat(m.container().get("args")).isEqualTo(List.of("relay"));
    assertThat(map(m.container(), "resources", "requests")).containsKeys("cpu", "memory");
  }

  @Test
  void probesArePlainHttpOnTheAdminPort() {
    Manifests m = render(RelayChartTest::required);
    Map<String, Object> c = m.container();
    assertThat(list(c, "ports")).containsExactly(
        Map.of("name", "https", "containerPort", 8443, "protocol", "TCP"),
        Map.of("name", "admin", "containerPort", 9090, "protocol", "TCP"));
    assertThat(m.envValue("RELAYMESH_RELAY_ADMIN_LISTEN")).isEqualTo("0.0.0.0:9090");
    Map<String, Object> ready = map(c, "readinessProbe", "httpGet");
    assertThat(ready).containsEntry("path", "/readyz").containsEntry("scheme", "HTTP")
        .containsEntry("port", "admin");
    Map<String, Object> live = map(c, "livenessProbe", "httpGet");
    assertThat(live).containsEntry("path", "/healthz").containsEntry("scheme", "HTTP")
        .containsEntry("port", "admin");
  }

  @Test
  void metricsAreScrapedOverHttpFromAClusterIpServiceNeverFromTheLoadBalancer() {
    Manifests m = render(c -> required(c).set("serviceMonitor.enabled", true)
        .set("admin.port", 9100));
    assertThat(m.envValue("RELAYMESH_RELAY_ADMIN_LISTEN")).isEqualTo("0.0.0.0:9100");
    assertThat(list(m.container(), "ports")).anyMatch(p -> "admin".equals(p.get("name"))
        && Integer.valueOf(9100).equals(p.get("containerPort")));
    assertThat(map(m.container(), "readinessProbe", "httpGet")).containsEntry("port", "admin");

    Map<String, Object> lb = publicService(m);
    assertThat(map(lb, "spec").get("type")).isEqualTo("LoadBalancer");
    assertThat(list(map(lb, "spec"), "ports")).as("no admin port on the LoadBalancer")
        .noneMatch(p -> "admin".equals(p.get("targetPort")) || "admin".equals(p.get("name"))
            || Integer.valueOf(9100).equals(p.get("port"))
            || Integer.valueOf(9100).equals(p.get("targetPort")));

    Map<String, Object> metrics = metricsService(m);
    Map<String, Object> spec = map(metrics, "spec");
    assertThat(spec).containsEntry("type", "ClusterIP").containsEntry("clusterIP", "None")
        .doesNotContainKeys("externalTrafficPolicy", "loadBalancerSourceRanges");
    assertThat(list(spec, "ports")).containsExactly(
        Map.of("name", "admin", "port", 9100, "targetPort", "admin", "protocol", "TCP"));
    assertThat(map(spec, "selector"))
        .isEqualTo(map(m.one("Deployment"), "spec", "selector", "matchLabels"));
    assertThat(map(metrics, "metadata").get("name")).isEqualTo("relay-eu-relaymesh-relay-metrics");

    Map<String, Object> monitor = map(m.one("ServiceMonitor"), "spec");
    Map<String, Object> selector = map(monitor, "selector", "matchLabels");
    assertThat(map(metrics, "metadata", "labels")).as("the ServiceMonitor selects the metrics Service")
        .containsAllEntriesOf(selector);
    assertThat(map(lb, "metadata", "labels").entrySet().containsAll(selector.entrySet()))
        .as("the ServiceMonitor does not select the LoadBalancer").isFalse();
    Map<String, Object> endpoint = list(monitor, "endpoints").get(0);
    assertThat(endpoint).containsEntry("port", "admin").containsEntry("scheme", "http")
        .containsEntry("path", "/metrics").doesNotContainKey("tlsConfig");
  }

  @Test
  void terminationGraceOutlastsPreStopAndDrain() {
    for (Manifests m : List.of(render(RelayChartTest::required), example("relay-us-east.yaml"))) {
      String drain = m.envValue("RELAYMESH_RELAY_DRAIN_TIMEOUT");
      assertThat(drain).matches("[0-9]+s");
      int drainSeconds = Integer.parseInt(drain.substring(0, drain.length() - 1));
      List<?> preStop = (List<?>) map(m.container(), "lifecycle", "preStop", "exec").get("command");
      assertThat(preStop.get(0)).isEqualTo("sleep");
      int sleep = Integer.parseInt(String.valueOf(preStop.get(1)));
      int grace = (Integer) m.podSpec().get("terminationGracePeriodSeconds");
      assertThat(grace).as("grace period vs preStop %ss + drain %ss", sleep, drainSeconds)
          .isGreaterThan(sleep + drainSeconds);
    }
    assertThat(example("relay-us-east.yaml").envValue("RELAYMESH_RELAY_DRAIN_TIMEOUT")).isEqualTo("60s");
  }

  @Test
  void runsAsNonRootOnAReadOnlyRootFilesystem() {
    Manifests m = render(RelayChartTest::required);
    Security.assertHardened(m);
  }

  @Test
  void tokenAndCertificateComeFromSecretsNeverFromTheManifest() {
    Manifests m = render(c -> required(c).set("appsHost", "apps.eu.example.com"));
    Map<String, Object> token = m.env("RELAYMESH_RELAY_TOKEN");
    assertThat(token).doesNotContainKey("value");
    assertThat(map(token, "valueFrom", "secretKeyRef"))
        .containsEntry("name", "relay-eu-token").containsEntry("key", "token");

    Map<String, Object> tlsVolume = list(m.podSpec(), "volumes").stream()
        .filter(v -> "tls".equals(v.get("name"))).findFirst().orElseThrow();
    assertThat(map(tlsVolume, "secret").get("secretName")).isEqualTo("relay-eu-tls");
    Map<String, Object> mount = list(m.container(), "volumeMounts").stream()
        .filter(v -> "tls".equals(v.get("name"))).findFirst().orElseThrow();
    assertThat(mount).containsEntry("readOnly", true).containsEntry("mountPath", "/etc/relaymesh/tls")
        .as("subPath mounts never see a renewed certificate").doesNotContainKey("subPath");
    assertThat(m.envValue("RELAYMESH_RELAY_TLS_CERT")).isEqualTo("/etc/relaymesh/tls/tls.crt");
    assertThat(m.envValue("RELAYMESH_RELAY_TLS_KEY")).isEqualTo("/etc/relaymesh/tls/tls.key");
    assertThat(m.envValue("RELAYMESH_RELAY_APPS_HOST")).isEqualTo("apps.eu.example.com");
    Security.assertNoInlineSecrets(m);
  }

  @Test
  void replicasAntiAffinityAndAutoscalingFollowTheValues() {
    Manifests three = render(c -> required(c).set("replicaCount", 3)
        .set("antiAffinity.type", "required"));
    assertThat(map(three.one("Deployment"), "spec").get("replicas")).isEqualTo(3);
    Map<String, Object> anti = map(three.podSpec(), "affinity", "podAntiAffinity");
    assertThat(anti).containsOnlyKeys("requiredDuringSchedulingIgnoredDuringExecution");
    assertThat(map(list(anti, "requiredDuringSchedulingIgnoredDuringExecution").get(0),
        "labelSelector", "matchLabels")).containsEntry("relaymesh.io/region", "eu");

    Manifests none = render(c -> required(c).set("antiAffinity.type", "none"));
    assertThat(none.podSpec()).doesNotContainKey("affinity");

    Manifests hpa = render(c -> required(c).set("autoscaling.enabled", true)
        .set("autoscaling.minReplicas", 2).set("autoscaling.maxReplicas", 5));
    assertThat(map(hpa.one("Deployment"), "spec")).as("the HPA owns the replica count")
        .doesNotContainKey("replicas");
    Map<String, Object> spec = map(hpa.one("HorizontalPodAutoscaler"), "spec");
    assertThat(spec).containsEntry("minReplicas", 2).containsEntry("maxReplicas", 5);
    assertThat(map(spec, "scaleTargetRef").get("name"))
        .isEqualTo(map(hpa.one("Deployment"), "metadata").get("name"));
  }

  @Test
  void multiRegionExamplesRenderEachReplicaWithItsOwnUrl() {
    Manifests eu1 = example("relay-eu-1.yaml");
    Manifests eu2 = example("relay-eu-2.yaml");
    Manifests us = example("relay-us-east.yaml");
    assertThat(eu1.envValue("RELAYMESH_RELAY_REGION")).isEqualTo("eu");
    assertThat(eu2.envValue("RELAYMESH_RELAY_REGION")).isEqualTo("eu");
    assertThat(us.envValue("RELAYMESH_RELAY_REGION")).isEqualTo("us-east");
    assertThat(List.of(eu1, eu2, us)).extracting(m -> m.envValue("RELAYMESH_RELAY_PUBLIC_URL"))
        .doesNotHaveDuplicates();
    assertThat(map(eu1.env("RELAYMESH_RELAY_TOKEN"), "valueFrom", "secretKeyRef"))
        .isEqualTo(map(eu2.env("RELAYMESH_RELAY_TOKEN"), "valueFrom", "secretKeyRef"));
    // the two eu releases repel each other: each one's anti-affinity selects the other's pods
    for (Manifests[] pair : List.of(new Manifests[] {eu1, eu2}, new Manifests[] {eu2, eu1})) {
      Map<String, Object> anti = map(pair[0].podSpec(), "affinity", "podAntiAffinity");
      Map<String, Object> selector = map(list(anti, "requiredDuringSchedulingIgnoredDuringExecution")
          .get(0), "labelSelector", "matchLabels");
      assertThat(map(pair[1].one("Deployment"), "spec", "template", "metadata", "labels"))
          .containsAllEntriesOf(selector);
    }
    assertThat(eu1.envValue("RELAYMESH_RELAY_APPS_HOST")).isEqualTo("apps.eu.example.com");
    assertThat(map(us.one("Deployment"), "spec").get("replicas")).isEqualTo(2);
    for (Manifests m : List.of(eu1, eu2, us)) {
      assertThat(map(m.one("Deployment"), "spec").get("replicas"))
          .isEqualTo(m == us ? 2 : 1);
      Security.assertHardened(m);
      Security.assertNoInlineSecrets(m);
      Map<String, Object> endpoint = list(map(m.one("ServiceMonitor"), "spec"), "endpoints").get(0);
      assertThat(endpoint).containsEntry("scheme", "http").containsEntry("path", "/metrics")
          .containsEntry("port", "admin").doesNotContainKey("tlsConfig");
      assertThat(list(map(publicService(m), "spec"), "ports"))
          .noneMatch(p -> "admin".equals(p.get("targetPort")));
      assertThat(list(endpoint, "relabelings")).anyMatch(r -> "region".equals(r.get("targetLabel"))
          && r.get("replacement").equals(m.envValue("RELAYMESH_RELAY_REGION")));
    }
    assertThat(List.of(eu1, eu2, us)).extracting(m -> m.has("PrometheusRule"))
        .as("rules once per region").containsExactly(true, false, true);
  }

  @Test
  void missingRequiredValuesFailNamingTheValue() {
    assertThatThrownBy(() -> render(c -> c.set("controlUrl", "https://c.example.com")))
        .hasMessageContaining("value 'region' is required");
    assertThatThrownBy(() -> render(c -> required(c).set("token.existingSecret", "")))
        .hasMessageContaining("value 'token.existingSecret' is required");
    assertThatThrownBy(() -> render(c -> required(c).set("tls.secretName", "")))
        .hasMessageContaining("value 'tls.secretName' is required");
    assertThatThrownBy(() -> render(c -> required(c).set("publicUrl", "")))
        .hasMessageContaining("value 'publicUrl' is required");
  }

  @Test
  void wrongValuesFailTheSchema() {
    assertThatThrownBy(() -> render(c -> required(c).set("replicaCount", 0)))
        .hasMessageContaining("replicaCount").hasMessageContaining("minimum");
    assertThatThrownBy(() -> render(c -> required(c).set("antiAffinity.type", "sometimes")))
        .hasMessageContaining("antiAffinity").hasMessageContaining("preferred");
    assertThatThrownBy(() -> render(c -> required(c).set("service.type", "External")))
        .hasMessageContaining("service").hasMessageContaining("LoadBalancer");
    assertThatThrownBy(() -> render(c -> required(c).set("region", "EU_West")))
        .hasMessageContaining("region");
    assertThatThrownBy(() -> render(c -> required(c).set("controlUrl", "relaymesh.example.com")))
        .hasMessageContaining("controlUrl");
    assertThatThrownBy(() -> render(c -> required(c).set("drainTimeoutSeconds", 0)))
        .hasMessageContaining("drainTimeoutSeconds");
    assertThatThrownBy(() -> render(c -> required(c).set("extraEnv[0].name", "RELAYMESH_RELAY_TOKEN")
        .set("extraEnv[0].value", "x")))
        .hasMessageContaining("RELAYMESH_RELAY_TOKEN cannot be set in extraEnv: use token.existingSecret");
    assertThatThrownBy(() -> render(c -> required(c).set("admin.port", 80)))
        .hasMessageContaining("admin").hasMessageContaining("minimum");
    assertThatThrownBy(() -> render(c -> required(c).set("admin.port", 8443)))
        .hasMessageContaining("admin.port (8443) must differ from containerPort (8443)");
    assertThatThrownBy(() -> render(c -> required(c)
        .set("extraEnv[0].name", "RELAYMESH_RELAY_ADMIN_LISTEN").set("extraEnv[0].value", "0.0.0.0:1")))
        .hasMessageContaining("RELAYMESH_RELAY_ADMIN_LISTEN cannot be set in extraEnv: use admin.port");
  }

  @Test
  void aGracePeriodShorterThanTheDrainFails() {
    assertThatThrownBy(() -> render(c -> required(c).set("terminationGracePeriodSeconds", 30)))
        .hasMessageContaining("terminationGracePeriodSeconds (30) must exceed")
        .hasMessageContaining("(35)");
    Manifests ok = render(c -> required(c).set("terminationGracePeriodSeconds", 120));
    assertThat(ok.podSpec().get("terminationGracePeriodSeconds")).isEqualTo(120);
  }
}
