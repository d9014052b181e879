package io.relaymesh.config.internal;

import io.relaymesh.config.ConfigNames;
import io.relaymesh.config.EnvAlias;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys of a section, derived from its record type: every leaf with its path, flag and
 * environment names, and its default; every nested section path. Not public API.
 */
public final class Schema {

  /** A settable key. */
  public record Leaf(String path, String flag, String env, List<String> envAliases,
      RecordComponent component, Object defaultValue) {}

  private final String section;
  private final Class<? extends Record> type;
  private final Map<String, Leaf> leaves = new LinkedHashMap<>();
  private final Map<String, Class<? extends Record>> sections = new LinkedHashMap<>();

  public Schema(String section, Class<? extends Record> type) {
    if (!section.matches("[a-z][a-z0-9-]*")) {
      throw new IllegalArgumentException("invalid section name: " + section);
    }
    this.section = section;
    this.type = type;
    Record defaults = defaultsOf(type);
    if (defaults == null) {
      throw new IllegalArgumentException(type.getName() + " needs a static defaults() method");
    }
    collect(section, type, defaults);
  }

  public String section() {
    return section;
  }

  public Class<? extends Record> type() {
    return type;
  }

  /** Leaves by key path, in declaration order. */
  public Map<String, Leaf> leaves() {
    return leaves;
  }

  /** Nested sections (including the root) by key path. */
  public Map<String, Class<? extends Record>> sections() {
    return sections;
  }

  @SuppressWarnings("unchecked")
  private void collect(String path, Class<? extends Record> recordType, Record defaults) {
    sections.put(path, recordType);
    for (RecordComponent c : recordType.getRecordComponents()) {
      String childPath = path + "." + ConfigNames.kebab(c.getName());
      Object dflt = defaults == null ? null : read(c, defaults);
      if (c.getType().isRecord()) {
        Class<? extends Record> nested = (Class<? extends Record>) c.getType();
        collect(childPath, nested, dflt != null ? (Record) dflt : defaultsOf(nested));
      } else if (Values.isSupportedLeaf(c)) {
        EnvAlias alias = c.getAnnotation(EnvAlias.class);
        leaves.put(childPath, new Leaf(childPath, ConfigNames.flag(childPath),
            ConfigNames.env(childPath), alias == null ? List.of() : List.of(alias.value()), c,
            dflt));
      } else {
        throw new IllegalArgumentException("unsupported config type " + c.getGenericType()
            + " of " + recordType.getName() + "." + c.getName());
      }
    }
  }

  /** Leaves below a section path, e.g. all {@code relay.tls.*}. */
  public List<Leaf> leavesUnder(String path) {
    List<Leaf> out = new ArrayList<>();
    for (Leaf leaf : leaves.values()) {
      if (leaf.path().startsWith(path + ".")) {
        out.add(leaf);
      }
    }
    return out;
  }

  public static Object read(RecordComponent c, Record r) {
    try {
      Method m = c.getAccessor();
      m.setAccessible(true);
      return m.invoke(r);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + c + ": " + e, e);
    }
  }

  /** The record's {@code static defaults()} instance, or {@code null} when it has none. */
  public static Record defaultsOf(Class<? extends Record> type) {
    try {
      Method m = type.getDeclaredMethod("defaults");
      if (!Modifier.isStatic(m.getModifiers()) || !type.isAssignableFrom(m.getReturnType())) {
        return null;
      }
      m.setAccessible(true);
      return (Record) m.invoke(null);
    } catch (NoSuchMethodException e) {
      return null;
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot call " + type.getName() + ".defaults(): " + e, e);
    }
  }
}
