package io.relaymesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

/** Navigation in rendered manifests (parsed YAML maps), failing clearly when a path is missing. */
final class Manifests {

  private final List<Map<String, Object>> docs;

  Manifests(List<Map<String, Object>> docs) {
    this.docs = docs;
  }

  List<Map<String, Object>> all() {
    return docs;
  }

  List<Map<String, Object>> ofKind(String kind) {
    return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
  }

  /** The one manifest of this kind. */
  Map<String, Object> one(String kind) {
    List<Map<String, Object>> found = ofKind(kind);
    assertThat(found).as("rendered manifests of kind %s", kind).hasSize(1);
    return found.get(0);
  }

  boolean has(String kind) {
    return !ofKind(kind).isEmpty();
  }

  /** The pod spec of the one Deployment. */
  Map<String, Object> podSpec() {
    return map(one("Deployment"), "spec", "template", "spec");
  }

  /** The one container of the Deployment's pod. */
  Map<String, Object> container() {
    List<Map<String, Object>> containers = list(podSpec(), "containers");
    assertThat(containers).hasSize(1);
    return containers.get(0);
  }

  /** The container's environment variable {@code name} (its whole entry). */
  Map<String, Object> env(String name) {
    return list(container(), "env").stream().filter(e -> name.equals(e.get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no environment variable " + name + " in "
            + list(container(), "env").stream().map(e -> e.get("name")).toList()));
  }

  /** The literal value of the container's variable {@code name} (fails when it has none). */
  String envValue(String name) {
    Object v = env(name).get("value");
    assertThat(v).as("value of %s", name).isInstanceOf(String.class);
    return (String) v;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Map<String, Object> m, String... path) {
    Object o = m;
    StringBuilder at = new StringBuilder();
    for (String key : path) {
      at.append('.').append(key);
      assertThat(o).as("%s is a map", at).isInstanceOf(Map.class);
      o = ((Map<String, Object>) o).get(key);
      assertThat(o).as("%s is set", at).isNotNull();
    }
    assertThat(o).as("%s is a map", at).isInstanceOf(Map.class);
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Map<String, Object> m, String key) {
    Object o = m.get(key);
    assertThat(o).as("%s is a list", key).isInstanceOf(List.class);
    return (List<Map<String, Object>>) o;
  }
}
