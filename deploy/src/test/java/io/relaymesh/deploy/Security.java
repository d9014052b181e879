package io.relaymesh.deploy;

import static io.relaymesh.deploy.Manifests.list;
import static io.relaymesh.deploy.Manifests.map;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Checks shared by both charts. */
final class Security {

  /** Variables that carry a secret: only ever from a Secret. */
  static final Pattern SECRET_ENV = Pattern.compile(".*(TOKEN|PASSWORD|POSTGRES_URL|SECRET).*");
  /** Token prefixes of Relaymesh (relay, agent, session) and a URL with a password. */
  static final Pattern SECRET_LITERAL = Pattern.compile("rm[ras]_|postgres(ql)?://[^\\s/@]*:[^\\s/@]+@");

  private Security() {}

  static void assertHardened(Manifests m) {
    Map<String, Object> pod = map(m.podSpec(), "securityContext");
    assertThat(pod).containsEntry("runAsNonRoot", true);
    assertThat((Integer) pod.get("runAsUser")).as("numeric non-root user").isGreaterThan(0);
    Map<String, Object> c = map(m.container(), "securityContext");
    assertThat(c).containsEntry("readOnlyRootFilesystem", true)
        .containsEntry("allowPrivilegeEscalation", false)
        .containsEntry("runAsNonRoot", true);
    assertThat(map(c, "capabilities").get("drop")).isEqualTo(List.of("ALL"));
    // a read-only root needs a writable /tmp for the JVM and Netty's native libraries
    assertThat(list(m.container(), "volumeMounts")).anyMatch(v -> "/tmp".equals(v.get("mountPath")));
    assertThat(m.podSpec()).containsEntry("automountServiceAccountToken", false);
    // service links would inject RELAYMESH_RELAY_SERVICE_HOST & co. for a Service named
    // relaymesh-relay, and unknown RELAYMESH_<SECTION>_* variables stop the process at start
    assertThat(m.podSpec()).containsEntry("enableServiceLinks", false);
  }

  /** Secret-looking variables come from a secretKeyRef; no token or password in any non-Secret. */
  static void assertNoInlineSecrets(Manifests m) {
    for (Map<String, Object> e : list(m.container(), "env")) {
      String name = (String) e.get("name");
      if (SECRET_ENV.matcher(name).matches()) {
        assertThat(e).as("%s is not inlined", name).doesNotContainKey("value");
        assertThat(map(e, "valueFrom")).as("%s comes from a Secret", name)
            .containsOnlyKeys("secretKeyRef");
      }
    }
    for (Map<String, Object> doc : m.all()) {
      if (!"Secret".equals(doc.get("kind"))) {
        assertThat(SECRET_LITERAL.matcher(doc.toString()).find())
            .as("secret literal in %s %s", doc.get("kind"), doc.get("metadata")).isFalse();
      }
    }
  }
}
