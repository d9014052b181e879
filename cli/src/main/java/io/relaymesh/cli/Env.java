package io.relaymesh.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import io.relaymesh.config.CliConfig;
import io.relaymesh.config.ConfigLoader;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** What the CLI reads from and writes to; replaced in tests. */
public record Env(Map<String, String> vars, InputStream in, PrintStream out, PrintStream err,
    Console console) {

  public static Env system() {
    return new Env(System.getenv(), System.in, System.out, System.err, System.console());
  }

  /** The last {@link #cliConfig} and the variables it came from: one command asks several times. */
  private static volatile Object[] lastCliConfig;

  /** The client settings: defaults < {@code RELAYMESH_CLI_*} (and {@code RELAYMESH_CONFIG_DIR}). */
  public CliConfig cliConfig() {
    Object[] last = lastCliConfig;
    if (last != null && last[0].equals(vars)) {
      return (CliConfig) last[1];
    }
    CliConfig c = ConfigLoader.of("cli", CliConfig.class).env(vars).load().config();
    lastCliConfig = new Object[] {new HashMap<>(vars), c};
    return c;
  }

  /** {@code $RELAYMESH_CONFIG_DIR} (or {@code RELAYMESH_CLI_CONFIG_DIR}), default {@code ~/.config/relaymesh}. */
  public Path configDir() {
    return cliConfig().configDir();
  }

  private static final Object STDIN_LOCK = new Object();

  /** The first line of stdin, without the line terminator. */
  public String readStdinLine(String what) {
    synchronized (STDIN_LOCK) {
      try {
        String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
        if (line == null || line.isEmpty()) {
          throw new CliException("expected the " + what + " on stdin, got nothing");
        }
        return line;
      } catch (IOException e) {
        throw new CliException("cannot read the " + what + " from stdin: " + e.getMessage());
      }
    }
  }
}
