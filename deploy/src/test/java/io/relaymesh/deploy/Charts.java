package io.relaymesh.deploy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** The charts under {@code helm/}, rendered by the real Helm engine (helm-java). */
final class Charts {

  static final Path REPO = repoRoot();
  static final Path HELM = REPO.resolve("helm");
  static final Path CONTROL = HELM.resolve("relaymesh");
  static final Path RELAY = HELM.resolve("relaymesh-relay");
  static final Path EXAMPLES = HELM.resolve("examples");
  /** The Kubernetes version templates are rendered for (the charts need 1.25 or later). */
  static final String KUBE_VERSION = "1.30.0";

  private Charts() {}

  /** The repository root: the module runs with deploy/ as its working directory. */
  private static Path repoRoot() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("helm")) && Files.isRegularFile(d.resolve("pom.xml"))) {
        return d;
      }
    }
    throw new IllegalStateException("helm/ not found above " + Path.of("").toAbsolutePath());
  }

  /** {@code helm template} of {@code chart} as release {@code release}; the raw YAML stream. */
  static String template(Path chart, String release, UnaryOperator<TemplateCommand> options) {
    TemplateCommand cmd = new Helm(chart).template().withName(release).withNamespace("relaymesh")
        .withKubeVersion(KUBE_VERSION);
    return options.apply(cmd).call();
  }

  /** The documents of a YAML stream as maps (empty documents dropped). */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> parse(String yaml) {
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object o : new Load(LoadSettings.builder().build()).loadAllFromString(yaml)) {
      if (o != null) {
        docs.add((Map<String, Object>) o);
      }
    }
    return docs;
  }

  static List<Map<String, Object>> render(Path chart, String release,
      UnaryOperator<TemplateCommand> options) {
    return parse(template(chart, release, options));
  }
}
