package io.relaymesh.config;

import io.relaymesh.config.internal.Values;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Validation helpers for {@link ConfigSection#validate}. Each adds at most one problem,
 * {@code "<path>.<name>: <reason>"}, and skips {@code null} values (except {@link #required}),
 * so optional keys need no extra test.
 */
public final class Checks {

  private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,32}");
  private static final Pattern HOSTNAME = Pattern.compile(
      "(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

  private Checks() {}

  /**
   * A required value: {@code relay.token: required (flag --token, env RELAYMESH_RELAY_TOKEN)}.
   * Blank strings count as missing.
   *
   * @return whether the value is present
   */
  public static boolean required(List<String> problems, String path, String name, Object value) {
    if (value == null || value instanceof String s && s.isBlank()) {
      String key = ConfigSection.key(path, name);
      problems.add(key + ": required (flag " + ConfigNames.flag(key) + ", env "
          + ConfigNames.env(key) + ")");
      return false;
    }
    return true;
  }

  /**
   * An absolute URL with a host and one of {@code schemes}, e.g. {@code "http", "https"}. User
   * info ({@code user:password@}) is masked in the message.
   */
  public static void url(List<String> problems, String path, String name, String value,
      String... schemes) {
    if (value == null) {
      return;
    }
    String key = ConfigSection.key(path, name);
    String shown = value.replaceFirst("//[^/@]*@", "//" + Secret.MASK + "@");
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      problems.add(key + ": invalid URL \"" + shown + "\": " + e.getReason());
      return;
    }
    String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme == null || !List.of(schemes).contains(scheme)) {
      problems.add(key + ": invalid URL \"" + shown + "\": scheme must be "
          + String.join(" or ", schemes));
    } else if (uri.getHost() == null || uri.getHost().isEmpty()) {
      problems.add(key + ": invalid URL \"" + shown + "\": no host");
    }
  }

  /** {@code host:port} with port 0..65535; IPv6 hosts in brackets, {@code [::1]:443}. */
  public static void listenAddress(List<String> problems, String path, String name,
      String value) {
    if (value == null) {
      return;
    }
    String key = ConfigSection.key(path, name);
    int colon = value.lastIndexOf(':');
    String host = colon < 0 ? "" : value.substring(0, colon);
    String port = colon < 0 ? "" : value.substring(colon + 1);
    if (host.isEmpty() || !port.matches("[0-9]{1,5}")
        || host.contains(":") && !(host.startsWith("[") && host.endsWith("]"))) {
      problems.add(key + ": expected host:port, got \"" + value + "\"");
    } else if (Integer.parseInt(port) > 65535) {
      problems.add(key + ": port out of range 0..65535: " + port);
    }
  }

  /** A region name: 1 to 32 of {@code a-z}, {@code 0-9}, {@code -}. */
  public static void region(List<String> problems, String path, String name, String value) {
    if (value != null && !REGION.matcher(value).matches()) {
      problems.add(ConfigSection.key(path, name) + ": invalid region \"" + value
          + "\" (expected 1 to 32 of a-z, 0-9, -)");
    }
  }

  /** A DNS host name in lower case, optionally with {@code :port}: {@code apps.eu.example.com}. */
  public static void hostname(List<String> problems, String path, String name, String value) {
    if (value == null) {
      return;
    }
    int colon = value.lastIndexOf(':');
    String host = colon < 0 ? value : value.substring(0, colon);
    String port = colon < 0 ? "1" : value.substring(colon + 1);
    if (!HOSTNAME.matcher(host).matches() || !port.matches("[0-9]{1,5}")
        || Integer.parseInt(port) > 65535) {
      problems.add(ConfigSection.key(path, name) + ": invalid host name \"" + value + "\"");
    }
  }

  /** A duration greater than zero. */
  public static void positive(List<String> problems, String path, String name, Duration value) {
    if (value != null && (value.isNegative() || value.isZero())) {
      problems.add(ConfigSection.key(path, name) + ": must be positive, got "
          + Values.formatDuration(value));
    }
  }

  /** {@code min <= value <= max}. */
  public static void range(List<String> problems, String path, String name, long value,
      long min, long max) {
    if (value < min || value > max) {
      problems.add(ConfigSection.key(path, name) + ": must be between " + min + " and " + max
          + ", got " + value);
    }
  }

  /** An existing, readable regular file: {@code relay.tls.cert: file not found: /x/cert.pem}. */
  public static void readableFile(List<String> problems, String path, String name, Path value) {
    if (value == null) {
      return;
    }
    String key = ConfigSection.key(path, name);
    if (!Files.exists(value)) {
      problems.add(key + ": file not found: " + value);
    } else if (!Files.isRegularFile(value)) {
      problems.add(key + ": not a regular file: " + value);
    } else if (!Files.isReadable(value)) {
      problems.add(key + ": file not readable: " + value);
    }
  }
}
