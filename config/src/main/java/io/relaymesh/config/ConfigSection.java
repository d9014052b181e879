package io.relaymesh.config;

import java.util.List;

/**
 * A typed, immutable configuration section (a record). Sections nest; a section's key path is
 * built from kebab-case component names ({@code relay.tls.cert}).
 *
 * <p>Implementations add every problem they find to {@code problems}, each naming its full key
 * path and the reason, so that one validation pass reports everything at once. {@link Checks}
 * has the common checks (required, URL, {@code host:port}, region, positive duration, readable
 * file).
 *
 * <p>A section validates only its own leaves: {@link ConfigLoader} (and
 * {@link ConfigLoader#validate(String, Record)} for configs built in code) visits every nested
 * section record itself, depth first, so a section must not call its children's
 * {@code validate}.
 */
public interface ConfigSection {

  /**
   * Checks this section.
   *
   * @param path key path of this section, e.g. {@code "relay.tls"}; empty for a root
   * @param problems where to add problems, formatted {@code "<path>.<key>: <reason>"}
   */
  void validate(String path, List<String> problems);

  /** Joins a section path and a key: {@code key("relay.tls", "cert") -> "relay.tls.cert"}. */
  static String key(String path, String name) {
    return path == null || path.isEmpty() ? name : path + "." + name;
  }
}
