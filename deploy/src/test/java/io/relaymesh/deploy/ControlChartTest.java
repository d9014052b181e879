package io.relaymesh.deploy;

import static io.relaymesh.deploy.Manifests.list;
import static io.relaymesh.deploy.Manifests.map;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** {@code helm/relaymesh} (control plane), linted and rendered by the real Helm engine. */
class ControlChartTest {

  static final String DB_PASSWORD = "n0t-in-manifests-7f3a";
  static final String DB_URL = "postgresql://relaymesh:" + DB_PASSWORD + "@db.internal:5432/relaymesh";

  static TemplateCommand required(TemplateCommand c) {
    return c.set("accessUrl", "https://relaymesh.example.com")
        .set("database.existingSecret", "relaymesh-db");
  }

  static Manifests render(UnaryOperator<TemplateCommand> options) {
    return new Manifests(Charts.render(Charts.CONTROL, "relaymesh", options));
  }

  @Test
  void lintPassesWithoutWarnings() {
    LintResult lint = new Helm(Charts.CONTROL).lint().strict().call();
    assertThat(lint.isFailed()).as("lint: %s", lint.getMessages()).isFalse();
    assertThat(lint.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
  }

  @Test
  void defaultsRenderTheServerOnItsHttpPortWithProbes() {
    Manifests m = render(ControlChartTest::required);
    assertThat(map(m.one("Deployment"), "spec").get("replicas")).isEqualTo(1);
    assertThat(m.container().get("args")).isEqualTo(List.of("server"));
    assertThat(m.container().get("command")).asList()
        .containsSubsequence("java", "-jar", "/opt/relaymesh/relaymesh.jar");
    assertThat(m.envValue("RELAYMESH_SERVER_LISTEN")).isEqualTo("0.0.0.0:3000");
    assertThat(m.envValue("RELAYMESH_SERVER_ACCESS_URL")).isEqualTo("https://relaymesh.example.com");
    assertThat(m.envValue("RELAYMESH_SERVER_BUILTIN_RELAY")).isEqualTo("false");

    Map<String, Object> port = list(m.container(), "ports").get(0);
    assertThat(port).containsEntry("name", "http").containsEntry("containerPort", 3000);
    assertThat(map(m.container(), "readinessProbe", "httpGet")).containsEntry("path", "/readyz")
        .containsEntry("scheme", "HTTP").containsEntry("port", "http");
    assertThat(map(m.container(), "livenessProbe", "httpGet")).containsEntry("path", "/healthz")
        .containsEntry("scheme", "HTTP").containsEntry("port", "http");

    Map<String, Object> service = map(m.one("Service"), "spec");
    assertThat(service.get("type")).isEqualTo("ClusterIP");
    assertThat(list(service, "ports").get(0)).containsEntry("targetPort", "http");
    assertThat(map(m.one("PodDisruptionBudget"), "spec", "selector", "matchLabels"))
        .isEqualTo(map(m.one("Deployment"), "spec", "selector", "matchLabels"));
    assertThat(m.has("Ingress")).isFalse();
    assertThat(m.has("ServiceMonitor")).isFalse();
    assertThat(m.has("Secret")).as("existingSecret: no chart-made Secret").isFalse();
    Security.assertHardened(m);
  }

  @Test
  void databaseUrlFromAnExistingSecret() {
    Manifests m = render(c -> required(c).set("database.existingSecretKey", "url"));
    Map<String, Object> db = m.env("RELAYMESH_SERVER_POSTGRES_URL");
    assertThat(db).doesNotContainKey("value");
    assertThat(map(db, "valueFrom", "secretKeyRef"))
        .containsEntry("name", "relaymesh-db").containsEntry("key", "url");
    Security.assertNoInlineSecrets(m);
  }

  @Test
  void aDatabaseUrlValueGoesIntoASecretOnly() {
    Manifests m = render(c -> c.set("accessUrl", "https://relaymesh.example.com")
        .set("database.url", DB_URL));
    Map<String, Object> secret = m.one("Secret");
    String name = (String) map(secret, "metadata").get("name");
    Map<String, Object> data = map(secret, "data");
    assertThat(new String(Base64.getDecoder().decode((String) data.get("postgres-url")),
        StandardCharsets.UTF_8)).isEqualTo(DB_URL);
    assertThat(map(m.env("RELAYMESH_SERVER_POSTGRES_URL"), "valueFrom", "secretKeyRef"))
        .containsEntry("name", name).containsEntry("key", "postgres-url");
    Security.assertNoInlineSecrets(m);
    String encoded = Base64.getEncoder().encodeToString(DB_URL.getBytes(StandardCharsets.UTF_8));
    for (Map<String, Object> doc : m.all()) {
      if (!"Secret".equals(doc.get("kind"))) {
        assertThat(doc.toString()).doesNotContain(DB_PASSWORD).doesNotContain(encoded);
      }
    }
  }

  @Test
  void exampleValuesAddIngressAndServiceMonitor() {
    Manifests m = render(c -> c.withValuesFile(Charts.EXAMPLES.resolve("control-plane.yaml")));
    Map<String, Object> ingress = map(m.one("Ingress"), "spec");
    assertThat(ingress.get("ingressClassName")).isEqualTo("nginx");
    assertThat(list(ingress, "rules").get(0).get("host")).isEqualTo("relaymesh.example.com");
    assertThat(list(ingress, "tls").get(0).get("secretName")).isEqualTo("relaymesh-example-com-tls");
    Map<String, Object> endpoint = list(map(m.one("ServiceMonitor"), "spec"), "endpoints").get(0);
    assertThat(endpoint).containsEntry("path", "/metrics").containsEntry("scheme", "http")
        .containsEntry("port", "http");
    Security.assertHardened(m);
    Security.assertNoInlineSecrets(m);
  }

  @Test
  void missingAndWrongValuesFailClearly() {
    assertThatThrownBy(() -> render(c -> c.set("database.existingSecret", "db")))
        .hasMessageContaining("value 'accessUrl' is required");
    assertThatThrownBy(() -> render(c -> c.set("accessUrl", "https://relaymesh.example.com")))
        .hasMessageContaining("'database.existingSecret' (a Secret with the PostgreSQL URL) or 'database.url' is required");
    assertThatThrownBy(() -> render(c -> required(c).set("replicaCount", 0)))
        .hasMessageContaining("/replicaCount").hasMessageContaining("minimum");
    assertThatThrownBy(() -> render(c -> required(c).set("service.type", "Public")))
        .hasMessageContaining("/service/type").hasMessageContaining("ClusterIP");
    assertThatThrownBy(() -> render(c -> required(c).set("database.url", "mysql://x@y/z")))
        .hasMessageContaining("/database/url");
    assertThatThrownBy(() -> render(c -> required(c).set("ingress.enabled", true)))
        .hasMessageContaining("value 'ingress.host' is required");
    assertThatThrownBy(() -> render(c -> required(c)
        .set("extraEnv[0].name", "RELAYMESH_SERVER_POSTGRES_URL").set("extraEnv[0].value", "x")))
        .hasMessageContaining("cannot be set in extraEnv: use database.existingSecret");
  }
}
