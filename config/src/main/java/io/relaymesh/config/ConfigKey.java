package io.relaymesh.config;

import io.relaymesh.config.internal.Schema;
import io.relaymesh.config.internal.Values;
import java.util.ArrayList;
import java.util.List;

/**
 * Description of one configuration key, for help texts and the reference page.
 *
 * @param path key path, {@code relay.tls.cert}
 * @param flag command-line flag, {@code --tls-cert}
 * @param env environment variable, {@code RELAYMESH_RELAY_TLS_CERT}
 * @param envAliases further accepted environment variables (see {@link EnvAlias})
 * @param type value type for humans: {@code string}, {@code duration}, {@code byte size}, ...
 * @param defaultValue the default as it would be written, empty when there is none
 * @param secret whether the value is masked
 * @param description from {@link Doc}, empty when missing
 */
public record ConfigKey(String path, String flag, String env, List<String> envAliases,
    String type, String defaultValue, boolean secret, String description) {

  /** Every key of {@code type} under {@code section}, in declaration order. */
  public static List<ConfigKey> of(String section, Class<? extends Record> type) {
    return of(new Schema(section, type));
  }

  static List<ConfigKey> of(Schema schema) {
    List<ConfigKey> out = new ArrayList<>();
    for (Schema.Leaf leaf : schema.leaves().values()) {
      Doc doc = leaf.component().getAnnotation(Doc.class);
      out.add(new ConfigKey(leaf.path(), leaf.flag(), leaf.env(), leaf.envAliases(),
          Values.typeName(leaf.component()), Values.format(leaf.component(), leaf.defaultValue()),
          leaf.component().isAnnotationPresent(Secret.class), doc == null ? "" : doc.value()));
    }
    return out;
  }
}
