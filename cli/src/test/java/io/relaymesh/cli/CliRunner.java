package io.relaymesh.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/** Runs the CLI in-process with a given config dir and stdin; captures stdout and stderr. */
final class CliRunner {

  record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
    }
  }

  private final Path configDir;

  CliRunner(Path configDir) {
    this.configDir = configDir;
  }

  Result run(String stdin, String... args) {
    return runWithEnv(Map.of(), stdin, args);
  }

  Result runWithEnv(Map<String, String> extraEnv, String stdin, String... args) {
    Map<String, String> vars = new java.util.HashMap<>(extraEnv);
    vars.put("RELAYMESH_CONFIG_DIR", configDir.toString());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Env env = new Env(vars,
        new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), null);
    int code = Main.run(env, args);
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
