package io.relaymesh.relay.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the {@code openssl} command line tool (Debian package {@code openssl}) when installed. */
final class OpensslCli {

  record Run(int exit, String output) {}

  private static final Boolean AVAILABLE = probe();

  private OpensslCli() {}

  static boolean available() {
    return AVAILABLE;
  }

  private static boolean probe() {
    try {
      return run(null, "version").exit() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Runs {@code openssl args...} with {@code stdin} (may be null), merged output, 20 s at most. */
  static Run run(String stdin, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread reader = new Thread(() -> {
      try (InputStream is = p.getInputStream()) {
        is.transferTo(out);
      } catch (IOException ignored) {
        // process gone
      }
    });
    reader.start();
    try {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("openssl " + String.join(" ", args) + " timed out");
      }
      reader.join(5_000);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8));
  }
}
