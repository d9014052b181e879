package io.relaymesh.cli;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The CLI session: control-plane URL, user and session token, in
 * {@code <config-dir>/credentials.json}, written with mode 0600 (directory 0700).
 */
public record Credentials(String url, String username, String token) {

  public static final String FILE = "credentials.json";

  public static Path path(Env env) {
    return env.configDir().resolve(FILE);
  }

  /** The saved session, or an error telling the user to log in. */
  public static Credentials load(Env env) {
    Path p = path(env);
    if (!Files.exists(p)) {
      throw new CliException("not logged in (no " + p + "); run 'relaymesh login URL' first");
    }
    try {
      JsonObject o = new JsonObject(Files.readString(p, StandardCharsets.UTF_8));
      Credentials c = new Credentials(o.getString("url"), o.getString("username"), o.getString("token"));
      if (c.url() == null || c.token() == null) {
        throw new CliException("credentials file " + p + " is incomplete; run 'relaymesh login' again");
      }
      return c;
    } catch (IOException | RuntimeException e) {
      if (e instanceof CliException ce) {
        throw ce;
      }
      throw new CliException("cannot read credentials file " + p + ": " + e.getMessage());
    }
  }

  /** A control-plane client acting with this session. */
  public ControlClient client() {
    return new ControlClient(url, token);
  }

  /** Saves the session (mode 0600); the previous session's cached tickets are deleted. */
  public void save(Env env) {
    Path dir = env.configDir();
    TicketCache.clear(dir);
    Path target = dir.resolve(FILE);
    try {
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rwx------")));
      }
      Path tmp = dir.resolve(FILE + ".tmp");
      Files.deleteIfExists(tmp);
      try {
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------")));
      } catch (FileAlreadyExistsException e) {
        throw new CliException("cannot write " + tmp + ": it appeared concurrently");
      }
      JsonObject o = new JsonObject().put("url", url).put("username", username).put("token", token);
      Files.writeString(tmp, o.encodePrettily(), StandardCharsets.UTF_8);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new CliException("cannot write credentials to " + target + ": " + e.getMessage());
    }
  }

  /** Deletes the session and its cached tickets. */
  public static boolean delete(Env env) {
    TicketCache.clear(env.configDir());
    try {
      return Files.deleteIfExists(path(env));
    } catch (IOException e) {
      throw new CliException("cannot delete " + path(env) + ": " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "Credentials[url=" + url + ", username=" + username + ", token=******]";
  }
}
