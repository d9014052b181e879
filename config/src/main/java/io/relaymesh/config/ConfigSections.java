package io.relaymesh.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every configuration section of the product by its YAML top-level key. A config file may hold
 * several sections; a top-level key that is none of these is reported as unknown. The
 * reference page {@code docs/config.md} is generated from this list.
 */
public final class ConfigSections {

  public static final Map<String, Class<? extends Record>> ALL;

  static {
    Map<String, Class<? extends Record>> all = new LinkedHashMap<>();
    all.put("server", ControlConfig.class);
    all.put("relay", RelayConfig.class);
    all.put("agent", AgentConfig.class);
    all.put("cli", CliConfig.class);
    ALL = Collections.unmodifiableMap(all);
  }

  private ConfigSections() {}
}
