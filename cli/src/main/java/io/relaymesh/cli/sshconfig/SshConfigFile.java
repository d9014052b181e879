package io.relaymesh.cli.sshconfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The relaymesh-managed block of an OpenSSH client config file ({@code ~/.ssh/config}).
 *
 * <p>The block sits between two marker lines and holds one {@code Host relaymesh.*} entry whose
 * {@code ProxyCommand} is {@code relaymesh ssh --stdio %h}. Updating is idempotent: an existing
 * block is replaced where it stands, otherwise the block is appended; every line outside the
 * block is kept byte for byte (line endings included). Writes are atomic and keep the file's
 * permissions (a new file gets 0600, a new {@code ~/.ssh} 0700).
 */
public final class SshConfigFile {

  public static final String BEGIN = "# ------------START-RELAYMESH-----------";
  public static final String END = "# ------------END-RELAYMESH-------------";
  /** Host names the block matches: {@code relaymesh.<workspace>[.<agent>]}. */
  public static final String HOST_PREFIX = "relaymesh.";

  private SshConfigFile() {}

  /**
   * The managed block for a CLI started by {@code command}: a shell-ready command line (OpenSSH
   * runs ProxyCommand through {@code /bin/sh -c}), already quoted by the caller.
   */
  public static String block(String command) {
    return String.join("\n",
        BEGIN,
        "# Managed by `relaymesh config-ssh`: edits inside this block are overwritten.",
        "# The tunnel authenticates both ends (TLS to the relay, a signed ticket per connection,",
        "# the agent's token checked by the relay), so no known_hosts entry is kept here.",
        "Host " + HOST_PREFIX + "*",
        "  ProxyCommand " + command + " ssh --stdio %h",
        "  ConnectTimeout 0",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  LogLevel ERROR",
        END,
        "");
  }

  /**
   * The new content of a config file with the managed block put in.
   *
   * @throws IllegalArgumentException when the file has a start marker without an end marker (or
   *     the reverse, or several blocks): the user edited the markers, and guessing could eat
   *     their lines
   */
  public static String update(String current, String block) {
    List<Integer> begins = markerLines(current, BEGIN);
    List<Integer> ends = markerLines(current, END);
    if (begins.isEmpty() && ends.isEmpty()) {
      if (current.isEmpty()) {
        return block;
      }
      String sep = current.endsWith("\n") ? (current.endsWith("\n\n") ? "" : "\n") : "\n\n";
      return current + sep + block;
    }
    if (begins.size() != 1 || ends.size() != 1 || ends.get(0) < begins.get(0)) {
      throw new IllegalArgumentException("the relaymesh block markers are damaged ("
          + begins.size() + " start and " + ends.size() + " end markers); fix or remove the lines "
          + "between '" + BEGIN + "' and '" + END + "' and run again");
    }
    int start = begins.get(0);
    int endLineStart = ends.get(0);
    int afterEnd = current.indexOf('\n', endLineStart);
    afterEnd = afterEnd < 0 ? current.length() : afterEnd + 1;
    return current.substring(0, start) + block + current.substring(afterEnd);
  }

  /** Removes the managed block (for uninstall); the rest stays as it was. */
  public static String remove(String current) {
    List<Integer> begins = markerLines(current, BEGIN);
    if (begins.isEmpty()) {
      return current;
    }
    return update(current, "");
  }

  /** Start offsets of the lines that are exactly {@code marker} (ignoring trailing blanks). */
  private static List<Integer> markerLines(String text, String marker) {
    List<Integer> at = new ArrayList<>();
    int pos = 0;
    while (pos < text.length()) {
      int nl = text.indexOf('\n', pos);
      int end = nl < 0 ? text.length() : nl;
      if (text.substring(pos, end).strip().equals(marker)) {
        at.add(pos);
      }
      pos = end + 1;
    }
    return at;
  }

  /** Reads a config file; a missing file is empty. */
  public static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  /** Writes atomically (temp file + rename), keeping the permissions of an existing file. */
  public static void write(Path file, String content) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Set<PosixFilePermission> perms = Files.exists(file) ? Files.getPosixFilePermissions(file)
        : PosixFilePermissions.fromString("rw-------");
    Path tmp = Files.createTempFile(dir, ".relaymesh-ssh-config", ".tmp",
        PosixFilePermissions.asFileAttribute(perms));
    try {
      Files.writeString(tmp, content, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(tmp, perms);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * A unified diff of two texts, as {@code diff -u} would show a change confined to one region
   * (what {@link #update} makes): the common head and tail are context.
   */
  public static String diff(String path, String before, String after) {
    if (before.equals(after)) {
      return "";
    }
    List<String> a = before.lines().toList();
    List<String> b = after.lines().toList();
    int head = 0;
    while (head < a.size() && head < b.size() && a.get(head).equals(b.get(head))) {
      head++;
    }
    int tail = 0;
    while (tail < a.size() - head && tail < b.size() - head
        && a.get(a.size() - 1 - tail).equals(b.get(b.size() - 1 - tail))) {
      tail++;
    }
    int ctx = 3;
    int from = Math.max(0, head - ctx);
    int aEnd = Math.min(a.size(), a.size() - tail + ctx);
    int bEnd = Math.min(b.size(), b.size() - tail + ctx);
    StringBuilder out = new StringBuilder();
    out.append("--- ").append(path).append('\n').append("+++ ").append(path).append('\n');
    out.append("@@ -").append(range(from, aEnd)).append(" +").append(range(from, bEnd))
        .append(" @@\n");
    for (int i = from; i < head; i++) {
      out.append(' ').append(a.get(i)).append('\n');
    }
    for (int i = head; i < a.size() - tail; i++) {
      out.append('-').append(a.get(i)).append('\n');
    }
    for (int i = head; i < b.size() - tail; i++) {
      out.append('+').append(b.get(i)).append('\n');
    }
    for (int i = a.size() - tail; i < aEnd; i++) {
      out.append(' ').append(a.get(i)).append('\n');
    }
    return out.toString();
  }

  private static String range(int from, int to) {
    int n = to - from;
    return (n == 0 ? from : from + 1) + "," + n;
  }
}
