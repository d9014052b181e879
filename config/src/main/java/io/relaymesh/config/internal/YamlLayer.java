package io.relaymesh.config.internal;

import io.relaymesh.config.Source;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Reads one section of a YAML config file into raw values keyed by path, with the file and line
 * of each. Scalars are kept as written (no YAML type guessing), so {@code 0755} or {@code yes}
 * are parsed by the same rules as environment variables and flags. Not public API.
 */
public final class YamlLayer {

  private final Path file;
  private final Schema schema;
  private final Set<String> knownSections;
  private final Map<String, Raw> into;
  private final List<String> problems;

  private YamlLayer(Path file, Schema schema, Set<String> knownSections, Map<String, Raw> into,
      List<String> problems) {
    this.file = file;
    this.schema = schema;
    this.knownSections = knownSections;
    this.into = into;
    this.problems = problems;
  }

  /**
   * Adds the values of {@code schema}'s section in {@code file} to {@code into}; adds problems
   * for a missing or malformed file, unknown keys in the section and unknown top-level sections.
   */
  public static void read(Path file, Schema schema, Set<String> knownSections,
      Map<String, Raw> into, List<String> problems) {
    new YamlLayer(file, schema, knownSections, into, problems).read();
  }

  private void read() {
    String where = "config file " + file;
    Optional<Node> root;
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      LoadSettings settings = LoadSettings.builder().setLabel(file.toString())
          .setSchema(new CoreSchema()).build();
      root = new Compose(settings).composeReader(reader);
    } catch (NoSuchFileException e) {
      problems.add(where + ": file not found");
      return;
    } catch (MarkedYamlEngineException e) {
      String at = e.getProblemMark().or(e::getContextMark).map(YamlLayer::at).orElse("");
      problems.add(where + ": malformed YAML" + (at.isEmpty() ? "" : " at " + at) + ": "
          + (e.getProblem() != null ? e.getProblem() : e.getMessage()).trim());
      return;
    } catch (YamlEngineException e) {
      problems.add(where + ": malformed YAML: " + e.getMessage());
      return;
    } catch (IOException | RuntimeException e) {
      problems.add(where + ": cannot read: " + e.getMessage());
      return;
    }
    if (root.isEmpty() || isNull(root.get())) {
      return;
    }
    if (!(root.get() instanceof MappingNode top)) {
      problems.add(where + ": expected a mapping of sections (" + schema.section()
          + ": ...) at the top level" + from(root.get()));
      return;
    }
    Set<String> seen = new HashSet<>();
    for (NodeTuple t : top.getValue()) {
      String name = keyName(t.getKeyNode(), "");
      if (name == null || !seen.add(name)) {
        if (name != null) {
          problems.add(name + ": duplicate key" + from(t.getKeyNode()));
        }
        continue;
      }
      if (name.equals(schema.section())) {
        section(schema.section(), t.getValueNode());
      } else if (!knownSections.contains(name)) {
        String hint = Suggest.closest(name, knownSections);
        problems.add(name + ": unknown section" + (hint == null ? "" : " (did you mean " + hint
            + "?)") + from(t.getKeyNode()));
      }
    }
  }

  private void section(String path, Node node) {
    if (isNull(node)) {
      return;
    }
    if (!(node instanceof MappingNode mapping)) {
      problems.add(path + ": expected a mapping" + from(node));
      return;
    }
    List<String> names = new ArrayList<>();
    for (String child : schema.sections().keySet()) {
      if (isChild(path, child)) {
        names.add(child.substring(path.length() + 1));
      }
    }
    for (String leaf : schema.leaves().keySet()) {
      if (isChild(path, leaf)) {
        names.add(leaf.substring(path.length() + 1));
      }
    }
    Set<String> seen = new HashSet<>();
    for (NodeTuple t : mapping.getValue()) {
      String name = keyName(t.getKeyNode(), path);
      if (name == null) {
        continue;
      }
      String key = path + "." + name;
      if (!seen.add(name)) {
        problems.add(key + ": duplicate key" + from(t.getKeyNode()));
      } else if (schema.sections().containsKey(key)) {
        section(key, t.getValueNode());
      } else if (schema.leaves().containsKey(key)) {
        leaf(key, t.getValueNode());
      } else {
        String hint = Suggest.closest(name, names);
        problems.add(key + ": unknown key" + (hint == null ? "" : " (did you mean " + path + "."
            + hint + "?)") + from(t.getKeyNode()));
      }
    }
  }

  private void leaf(String key, Node node) {
    Source source = new Source(Source.Layer.FILE, file + line(node));
    if (isNull(node)) {
      into.put(key, new Raw(null, source));
    } else if (node instanceof ScalarNode scalar) {
      into.put(key, new Raw(scalar.getValue(), source));
    } else if (node instanceof SequenceNode seq) {
      List<String> items = new ArrayList<>();
      for (Node item : seq.getValue()) {
        if (!(item instanceof ScalarNode s) || isNull(item)) {
          problems.add(key + ": list items must be plain values" + from(item));
          return;
        }
        items.add(s.getValue());
      }
      into.put(key, new Raw(items, source));
    } else {
      problems.add(key + ": expected a value, got a mapping" + from(node));
    }
  }

  private String keyName(Node keyNode, String path) {
    if (keyNode instanceof ScalarNode s && !isNull(keyNode)) {
      return s.getValue();
    }
    problems.add((path.isEmpty() ? "config file " + file : path)
        + ": keys must be plain names" + from(keyNode));
    return null;
  }

  private static boolean isChild(String parent, String path) {
    return path.startsWith(parent + ".") && path.indexOf('.', parent.length() + 1) < 0;
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
  }

  private String from(Node node) {
    return " (from " + file + line(node) + ")";
  }

  private static String line(Node node) {
    return node.getStartMark().map(m -> " line " + (m.getLine() + 1)).orElse("");
  }

  private static String at(Mark m) {
    return "line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1);
  }
}
