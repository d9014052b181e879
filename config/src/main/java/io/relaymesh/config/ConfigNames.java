package io.relaymesh.config;

import java.util.Locale;

/**
 * The one naming rule shared by YAML, environment and flags. A key path is the section name
 * followed by the kebab-case record component names: {@code relay.tls.cert}.
 *
 * <ul>
 *   <li>YAML: nested mappings, {@code relay: {tls: {cert: ...}}}
 *   <li>environment: {@code RELAYMESH_} + the path in upper snake case,
 *       {@code RELAYMESH_RELAY_TLS_CERT}
 *   <li>flag: the path below the section joined with dashes, {@code --tls-cert}
 * </ul>
 */
public final class ConfigNames {

  public static final String ENV_PREFIX = "RELAYMESH_";

  private ConfigNames() {}

  /** {@code "appsHost" -> "apps-host"}, {@code "maxFrameSize" -> "max-frame-size"}. */
  public static String kebab(String javaName) {
    StringBuilder out = new StringBuilder(javaName.length() + 4);
    for (int i = 0; i < javaName.length(); i++) {
      char c = javaName.charAt(i);
      if (Character.isUpperCase(c)) {
        boolean prevLower = i > 0 && !Character.isUpperCase(javaName.charAt(i - 1));
        boolean nextLower = i + 1 < javaName.length()
            && Character.isLowerCase(javaName.charAt(i + 1));
        if (i > 0 && (prevLower || nextLower)) {
          out.append('-');
        }
        out.append(Character.toLowerCase(c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** {@code "relay.tls.cert" -> "RELAYMESH_RELAY_TLS_CERT"}. */
  public static String env(String keyPath) {
    return ENV_PREFIX + keyPath.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
  }

  /** {@code "relay.tls.cert" -> "--tls-cert"}: the path below its section, joined with dashes. */
  public static String flag(String keyPath) {
    int dot = keyPath.indexOf('.');
    String below = dot < 0 ? keyPath : keyPath.substring(dot + 1);
    return "--" + below.replace('.', '-');
  }
}
