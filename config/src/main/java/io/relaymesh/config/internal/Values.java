package io.relaymesh.config.internal;

import io.relaymesh.config.ByteSize;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Conversion of configuration values between text and the supported component types, in both
 * directions (parse for loading, format for {@code describe()} and the docs). Not public API.
 */
public final class Values {

  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern BYTE_SIZE =
      Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|TiB)?", Pattern.CASE_INSENSITIVE);

  private Values() {}

  /** A conversion failure; the message is the reason, e.g. {@code invalid duration "5 minutes"}. */
  public static final class BadValue extends Exception {
    private static final long serialVersionUID = 1L;

    public BadValue(String reason) {
      super(reason, null, false, false);
    }
  }

  /** Whether the component is a leaf of a supported type (as opposed to a nested record). */
  public static boolean isSupportedLeaf(RecordComponent c) {
    Class<?> t = c.getType();
    return t == String.class || t == int.class || t == Integer.class || t == long.class
        || t == Long.class || t == boolean.class || t == Boolean.class || t == double.class
        || t == Double.class || t == Duration.class || t == Path.class || t.isEnum()
        || isStringList(c);
  }

  public static boolean isStringList(RecordComponent c) {
    if (c.getType() != List.class) {
      return false;
    }
    Type g = c.getGenericType();
    return g instanceof ParameterizedType p
        && p.getActualTypeArguments().length == 1
        && p.getActualTypeArguments()[0] == String.class;
  }

  /**
   * Converts a raw value (a {@code String}, or a {@code List<String>} from a YAML sequence) to
   * the component's type. {@code null} (YAML {@code ~}) means "no value".
   */
  public static Object parse(RecordComponent c, Object raw) throws BadValue {
    Class<?> t = c.getType();
    if (raw == null) {
      if (t.isPrimitive()) {
        throw new BadValue("a value is required (" + typeName(c) + ")");
      }
      return null;
    }
    if (raw instanceof List<?> list) {
      if (isStringList(c)) {
        return list.stream().map(String::valueOf).collect(Collectors.toUnmodifiableList());
      }
      throw new BadValue("expected a single value, got a list");
    }
    String s = raw.toString();
    if (isStringList(c)) {
      return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty())
          .collect(Collectors.toUnmodifiableList());
    }
    if (t == String.class) {
      return s;
    }
    String v = s.trim();
    boolean bytes = c.isAnnotationPresent(ByteSize.class);
    if (t == int.class || t == Integer.class) {
      long n = bytes ? parseByteSize(v) : parseLong(v, "integer");
      if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
        throw new BadValue("out of range for a 32-bit integer: \"" + s + "\"");
      }
      return (int) n;
    }
    if (t == long.class || t == Long.class) {
      return bytes ? parseByteSize(v) : parseLong(v, "integer");
    }
    if (t == boolean.class || t == Boolean.class) {
      return parseBoolean(v);
    }
    if (t == double.class || t == Double.class) {
      try {
        double d = Double.parseDouble(v);
        if (Double.isFinite(d)) {
          return d;
        }
      } catch (NumberFormatException e) {
        // fall through
      }
      throw new BadValue("invalid number \"" + s + "\"");
    }
    if (t == Duration.class) {
      return parseDuration(v);
    }
    if (t == Path.class) {
      return parsePath(v);
    }
    if (t.isEnum()) {
      return parseEnum(t, v);
    }
    throw new IllegalStateException("unsupported config type " + t.getName() + " of " + c);
  }

  static long parseLong(String v, String what) throws BadValue {
    try {
      return Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new BadValue("invalid " + what + " \"" + v + "\"");
    }
  }

  static boolean parseBoolean(String v) throws BadValue {
    switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1":
        return true;
      case "false", "no", "off", "0":
        return false;
      default:
        throw new BadValue("invalid boolean \"" + v + "\" (expected true or false)");
    }
  }

  /** {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}, {@code 1h30m}, ISO-8601 {@code PT30S}. */
  public static Duration parseDuration(String v) throws BadValue {
    if (v.length() > 1 && (v.charAt(0) == 'P' || v.charAt(0) == 'p')
        || v.startsWith("-P") || v.startsWith("-p")) {
      try {
        return Duration.parse(v);
      } catch (RuntimeException e) {
        throw badDuration(v);
      }
    }
    Matcher m = DURATION_PART.matcher(v);
    Duration total = Duration.ZERO;
    int at = 0;
    while (at < v.length()) {
      if (!m.find(at) || m.start() != at) {
        throw badDuration(v);
      }
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        throw badDuration(v);
      }
      try {
        total = total.plus(switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        });
      } catch (ArithmeticException e) {
        throw badDuration(v);
      }
      at = m.end();
    }
    if (at == 0) {
      throw badDuration(v);
    }
    return total;
  }

  private static BadValue badDuration(String v) {
    return new BadValue("invalid duration \"" + v
        + "\" (expected e.g. 250ms, 30s, 5m, 1h, 1h30m, 2d or ISO-8601 PT30S)");
  }

  /** Plain bytes or a binary unit: {@code 512}, {@code 64KiB}, {@code 4MiB}, {@code 1GiB}. */
  public static long parseByteSize(String v) throws BadValue {
    Matcher m = BYTE_SIZE.matcher(v);
    if (!m.matches()) {
      throw new BadValue("invalid byte size \"" + v
          + "\" (expected a number of bytes or a binary unit: 512, 64KiB, 4MiB, 1GiB)");
    }
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    int shift = switch (unit) {
      case "kib" -> 10;
      case "mib" -> 20;
      case "gib" -> 30;
      case "tib" -> 40;
      default -> 0;
    };
    try {
      long n = Long.parseLong(m.group(1));
      if (shift > 0 && n > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw new BadValue("byte size too large: \"" + v + "\"");
    }
  }

  static Path parsePath(String v) throws BadValue {
    if (v.isEmpty()) {
      throw new BadValue("empty path");
    }
    try {
      if (v.equals("~")) {
        return Path.of(System.getProperty("user.home"));
      }
      if (v.startsWith("~/")) {
        return Path.of(System.getProperty("user.home"), v.substring(2));
      }
      return Path.of(v);
    } catch (RuntimeException e) {
      throw new BadValue("invalid path \"" + v + "\"");
    }
  }

  static Object parseEnum(Class<?> t, String v) throws BadValue {
    String want = v.replace('-', '_');
    for (Object constant : t.getEnumConstants()) {
      if (((Enum<?>) constant).name().equalsIgnoreCase(want)) {
        return constant;
      }
    }
    throw new BadValue("invalid value \"" + v + "\" (expected one of: "
        + String.join(", ", enumValues(t)) + ")");
  }

  public static List<String> enumValues(Class<?> t) {
    List<String> out = new ArrayList<>();
    for (Object constant : t.getEnumConstants()) {
      out.add(formatEnum((Enum<?>) constant));
    }
    return out;
  }

  static String formatEnum(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The value as a user would write it: {@code 30s}, {@code 64KiB}, {@code json}, {@code a,b}. */
  public static String format(RecordComponent c, Object value) {
    if (value == null) {
      return "";
    }
    if (value instanceof Duration d) {
      return formatDuration(d);
    }
    if (value instanceof Enum<?> e) {
      return formatEnum(e);
    }
    if (value instanceof List<?> l) {
      return l.stream().map(String::valueOf).collect(Collectors.joining(","));
    }
    if (c != null && c.isAnnotationPresent(ByteSize.class) && value instanceof Number n) {
      return formatByteSize(n.longValue());
    }
    return value.toString();
  }

  public static String formatDuration(Duration d) {
    if (d.isNegative()) {
      return "-" + formatDuration(d.negated());
    }
    if (d.getNano() % 1_000_000 != 0) {
      return d.toString();
    }
    long ms = d.toMillis();
    if (ms == 0) {
      return "0s";
    }
    long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
    String[] units = {"d", "h", "m", "s", "ms"};
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < sizes.length; i++) {
      if (ms >= sizes[i]) {
        out.append(ms / sizes[i]).append(units[i]);
        ms %= sizes[i];
      }
    }
    return out.toString();
  }

  public static String formatByteSize(long n) {
    String[] units = {"TiB", "GiB", "MiB", "KiB"};
    int[] shifts = {40, 30, 20, 10};
    for (int i = 0; i < units.length; i++) {
      if (n != 0 && n % (1L << shifts[i]) == 0) {
        return (n >> shifts[i]) + units[i];
      }
    }
    return Long.toString(n);
  }

  /** Short type name for docs and messages: {@code duration}, {@code byte size}, {@code one of a|b}. */
  public static String typeName(RecordComponent c) {
    Class<?> t = c.getType();
    if (c.isAnnotationPresent(ByteSize.class)) {
      return "byte size";
    }
    if (t == String.class) {
      return "string";
    }
    if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
      return "integer";
    }
    if (t == boolean.class || t == Boolean.class) {
      return "boolean";
    }
    if (t == double.class || t == Double.class) {
      return "number";
    }
    if (t == Duration.class) {
      return "duration";
    }
    if (t == Path.class) {
      return "path";
    }
    if (t.isEnum()) {
      return String.join(" \\| ", enumValues(t));
    }
    if (isStringList(c)) {
      return "list of strings";
    }
    return t.getSimpleName();
  }
}
