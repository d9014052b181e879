package io.relaymesh.config;

import io.relaymesh.config.internal.Binder;
import io.relaymesh.config.internal.Raw;
import io.relaymesh.config.internal.Schema;
import io.relaymesh.config.internal.Suggest;
import io.relaymesh.config.internal.YamlLayer;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Loads one configuration section (a record such as {@link RelayConfig} under {@code relay}) from
 * four layers, each overriding the previous one: the record's {@code defaults()}, a YAML file,
 * {@code RELAYMESH_*} environment variables, command-line flags. Names follow
 * {@link ConfigNames}. Then validates the result: {@link ConfigSection#validate} is called on the
 * root and on every nested section (records must not call their children themselves).
 *
 * <p>Every problem of every layer is collected and thrown at once as a {@link ConfigException}:
 * unknown keys (with "did you mean"), unparsable values (with the layer they came from),
 * validation failures.
 *
 * <pre>{@code
 * LoadedConfig<RelayConfig> loaded = ConfigLoader.of("relay", RelayConfig.class)
 *     .file(configFile)              // --config; null for none
 *     .env(System.getenv())
 *     .flag("apps-host", appsHost)   // null values are ignored (flag not given)
 *     .load();
 * RelayConfig relay = loaded.config();
 * }</pre>
 *
 * <p>Not thread-safe; use one loader per load.
 */
public final class ConfigLoader<T extends Record> {

  private final Schema schema;
  private final Set<String> knownSections = new LinkedHashSet<>(ConfigSections.ALL.keySet());
  private Path file;
  private Map<String, String> env = Map.of();
  private final Map<String, Object> flags = new LinkedHashMap<>();

  private ConfigLoader(String section, Class<T> type) {
    this.schema = new Schema(section, type);
    knownSections.add(section);
  }

  /**
   * A loader for {@code type} under the key {@code section}.
   *
   * @throws IllegalArgumentException when the type has no {@code static defaults()} or a
   *     component of an unsupported type (a programming error, not a user error)
   */
  public static <T extends Record> ConfigLoader<T> of(String section, Class<T> type) {
    return new ConfigLoader<>(section, type);
  }

  /** The YAML file ({@code --config}); {@code null} for none. A missing file is a problem. */
  public ConfigLoader<T> file(Path file) {
    this.file = file;
    return this;
  }

  /** The environment; only {@code RELAYMESH_<SECTION>_*} and declared aliases are read. */
  public ConfigLoader<T> env(Map<String, String> env) {
    this.env = Map.copyOf(env);
    return this;
  }

  /**
   * A flag given on the command line. {@code name} with or without the leading {@code --}. A
   * {@code null} value means "not given" and is ignored; a collection is a list; anything else
   * is converted with {@code toString()} and parsed like an environment value.
   */
  public ConfigLoader<T> flag(String name, Object value) {
    if (value != null) {
      flags.put(name.startsWith("--") ? name.substring(2) : name, value);
    }
    return this;
  }

  /** {@link #flag} for each entry. */
  public ConfigLoader<T> flags(Map<String, ?> flags) {
    flags.forEach(this::flag);
    return this;
  }

  /** Every key of the section: path, flag, env, type, default, description. */
  public List<ConfigKey> keys() {
    return ConfigKey.of(schema);
  }

  /**
   * Loads and validates.
   *
   * @throws ConfigException listing every problem found
   */
  public LoadedConfig<T> load() {
    List<String> problems = new ArrayList<>();
    Map<String, Raw> raw = new HashMap<>();
    if (file != null) {
      YamlLayer.read(file, schema, knownSections, raw, problems);
    }
    readEnv(raw, problems);
    readFlags(raw, problems);
    Map<String, Source> sources = new LinkedHashMap<>();
    List<String> conversion = new ArrayList<>();
    T config = new Binder(raw, sources, conversion).bind(schema);
    problems.addAll(conversion);
    for (String p : validate(schema.section(), config)) {
      if (conversion.stream().noneMatch(c -> sameKey(c, p))) {
        problems.add(p);
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    Map<String, Source> ordered = new LinkedHashMap<>();
    for (String key : schema.leaves().keySet()) {
      ordered.put(key, sources.getOrDefault(key, Source.DEFAULT));
    }
    return new LoadedConfig<>(schema.section(), config, ordered);
  }

  private void readEnv(Map<String, Raw> raw, List<String> problems) {
    Map<String, String> byEnv = new HashMap<>();
    Map<String, String> byAlias = new HashMap<>();
    for (Schema.Leaf leaf : schema.leaves().values()) {
      byEnv.put(leaf.env(), leaf.path());
      leaf.envAliases().forEach(a -> byAlias.put(a, leaf.path()));
    }
    // aliases first, so that the canonical name wins
    new TreeMap<>(env).forEach((name, value) -> {
      String path = byAlias.get(name);
      if (path != null && !byEnv.containsKey(name)) {
        raw.put(path, new Raw(value, new Source(Source.Layer.ENV, name)));
      }
    });
    String prefix = ConfigNames.env(schema.section()) + "_";
    Set<String> otherPrefixes = new LinkedHashSet<>();
    for (String s : knownSections) {
      String p = ConfigNames.env(s) + "_";
      if (!s.equals(schema.section()) && p.startsWith(prefix)) {
        otherPrefixes.add(p);
      }
    }
    new TreeMap<>(env).forEach((name, value) -> {
      if (!name.startsWith(prefix) || byAlias.containsKey(name)
          || otherPrefixes.stream().anyMatch(name::startsWith)) {
        return;
      }
      String path = byEnv.get(name);
      if (path != null) {
        raw.put(path, new Raw(value, new Source(Source.Layer.ENV, name)));
      } else {
        String hint = suggest(name.substring(prefix.length()), byEnv.keySet(), prefix);
        problems.add(name + ": unknown environment variable"
            + (hint == null ? "" : " (did you mean " + hint + "?)"));
      }
    });
  }

  private void readFlags(Map<String, Raw> raw, List<String> problems) {
    Map<String, String> byFlag = new HashMap<>();
    for (Schema.Leaf leaf : schema.leaves().values()) {
      byFlag.put(leaf.flag(), leaf.path());
    }
    flags.forEach((name, value) -> {
      String flag = "--" + name;
      String path = byFlag.get(flag);
      if (path == null) {
        String hint = suggest(name, byFlag.keySet(), "--");
        problems.add(flag + ": unknown flag for section " + schema.section()
            + (hint == null ? "" : " (did you mean " + hint + "?)"));
        return;
      }
      Object v = value instanceof Collection<?> c ? c.stream().map(String::valueOf).toList()
          : value.toString();
      raw.put(path, new Raw(v, new Source(Source.Layer.FLAG, flag)));
    });
  }

  private static String suggest(String wrong, Set<String> candidates, String prefix) {
    List<String> tails = new ArrayList<>();
    for (String c : candidates) {
      if (c.startsWith(prefix)) {
        tails.add(c.substring(prefix.length()));
      }
    }
    String hint = Suggest.closest(wrong, tails);
    return hint == null ? null : prefix + hint;
  }

  private static boolean sameKey(String a, String b) {
    int ia = a.indexOf(": ");
    int ib = b.indexOf(": ");
    return ia > 0 && ia == ib && a.regionMatches(0, b, 0, ia);
  }

  /**
   * Validates a configuration built in code (tests, {@code relaymesh dev}): calls
   * {@link ConfigSection#validate} on the root and on every nested section, depth first.
   *
   * @param path the root's key path, its section name, e.g. {@code "relay"}
   * @return every problem, empty when valid
   */
  public static List<String> validate(String path, Record config) {
    List<String> problems = new ArrayList<>();
    validate(path, config, problems);
    return problems;
  }

  private static void validate(String path, Record config, List<String> problems) {
    if (config instanceof ConfigSection section) {
      section.validate(path, problems);
    }
    for (RecordComponent c : config.getClass().getRecordComponents()) {
      if (c.getType().isRecord()) {
        Object child = Schema.read(c, config);
        if (child != null) {
          validate(path + "." + ConfigNames.kebab(c.getName()), (Record) child, problems);
        }
      }
    }
  }
}
