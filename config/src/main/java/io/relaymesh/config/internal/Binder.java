package io.relaymesh.config.internal;

import io.relaymesh.config.ConfigNames;
import io.relaymesh.config.Secret;
import io.relaymesh.config.Source;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;

/**
 * Builds a section record from its defaults and the merged raw values. Conversion problems are
 * reported with the key path, the reason and the layer the value came from. Not public API.
 */
public final class Binder {

  private final Map<String, Raw> raw;
  private final Map<String, Source> sources;
  private final List<String> problems;

  /**
   * @param raw merged raw values by key path (later layers already won)
   * @param sources filled with the source of every leaf's effective value
   * @param problems where conversion and construction problems go
   */
  public Binder(Map<String, Raw> raw, Map<String, Source> sources, List<String> problems) {
    this.raw = raw;
    this.sources = sources;
    this.problems = problems;
  }

  @SuppressWarnings("unchecked")
  public <T extends Record> T bind(Schema schema) {
    return (T) build(schema.section(), schema.type(), Schema.defaultsOf(schema.type()));
  }

  @SuppressWarnings("unchecked")
  private Record build(String path, Class<? extends Record> type, Record defaults) {
    RecordComponent[] components = type.getRecordComponents();
    Object[] args = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    boolean anySet = false;
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      types[i] = c.getType();
      String key = path + "." + ConfigNames.kebab(c.getName());
      Object dflt = defaults == null ? null : Schema.read(c, defaults);
      if (c.getType().isRecord()) {
        Class<? extends Record> nested = (Class<? extends Record>) c.getType();
        boolean set = raw.keySet().stream().anyMatch(k -> k.startsWith(key + "."));
        Record base = dflt != null ? (Record) dflt : Schema.defaultsOf(nested);
        args[i] = dflt == null && !set ? null : build(key, nested, base);
        anySet |= set;
        continue;
      }
      Raw given = raw.get(key);
      if (given == null) {
        args[i] = dflt;
        sources.put(key, Source.DEFAULT);
        continue;
      }
      anySet = true;
      try {
        args[i] = Values.parse(c, given.value());
        sources.put(key, given.source());
      } catch (Values.BadValue e) {
        String reason = c.isAnnotationPresent(Secret.class)
            ? "invalid " + Values.typeName(c) + " (value not shown: secret)" : e.getMessage();
        problems.add(key + ": " + reason + " (from " + given.source() + ")");
        args[i] = dflt;
        sources.put(key, Source.DEFAULT);
      }
    }
    if (!anySet && defaults != null) {
      return defaults;
    }
    try {
      Constructor<? extends Record> ctor = type.getDeclaredConstructor(types);
      ctor.setAccessible(true);
      return ctor.newInstance(args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      problems.add(path + ": " + (cause.getMessage() != null ? cause.getMessage() : cause));
      return defaults;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct " + type.getName() + ": " + e, e);
    }
  }
}
