package io.relaymesh.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/** Small state files of {@code relaymesh dev} and the built-in relay: mode 0600, replaced atomically. */
final class StateFiles {

  private StateFiles() {}

  interface Mint {
    String get() throws IOException;
  }

  /** The secret kept in {@code file} (mode 0600), minted and saved when missing. */
  static String secret(Path file, Mint mint) throws IOException {
    String v = read(file);
    if (v != null) {
      return v;
    }
    v = mint.get();
    if (v != null) {
      write(file, v);
    }
    return v;
  }

  /** The trimmed content of {@code file}, or {@code null} when it is missing or empty. */
  static String read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    String v = Files.readString(file, StandardCharsets.UTF_8).trim();
    return v.isEmpty() ? null : v;
  }

  /** Writes {@code content} to {@code file} with mode 0600 (a temp file moved over it). */
  static void write(Path file, String content) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = Files.createTempFile(file.getParent(), ".state", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      Files.writeString(tmp, content, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (java.nio.file.AtomicMoveNotSupportedException notAtomic) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** 18 random bytes, URL-safe base64. */
  static String random() {
    byte[] b = new byte[18];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
