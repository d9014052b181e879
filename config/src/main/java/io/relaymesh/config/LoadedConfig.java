package io.relaymesh.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A loaded, valid configuration section with the source of every effective value.
 *
 * @param section the section name, e.g. {@code relay}
 * @param config the configuration
 * @param sources the source of each leaf value by key path, in declaration order
 */
public record LoadedConfig<T extends Record>(String section, T config, Map<String, Source> sources) {

  public LoadedConfig {
    sources = Collections.unmodifiableMap(new LinkedHashMap<>(sources));
  }

  /** Where the value of {@code path} came from ({@code relay.tls.cert}); default when unknown. */
  public Source source(String path) {
    return sources.getOrDefault(path, Source.DEFAULT);
  }

  /**
   * The effective configuration, one key per line with its value (secrets masked) and source,
   * for {@code --print-config}:
   *
   * <pre>
   * relay.region        = eu-west          RELAYMESH_RELAY_REGION
   * relay.token         = ******           --token
   * </pre>
   */
  public String describe() {
    return ConfigStrings.describe(section, config, sources);
  }

  @Override
  public String toString() {
    return "LoadedConfig[" + section + "=" + ConfigStrings.toString(config) + "]";
  }
}
