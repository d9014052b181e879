package io.relaymesh.cli;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** How to start this CLI again (for ProxyCommand lines). */
final class Self {

  private Self() {}

  /**
   * The launcher script when started through it ({@code RELAYMESH_SELF}, set by
   * {@code ./relaymesh}), else {@code java -jar <this jar>}.
   */
  static String command(Env env) {
    String self = env.vars().get("RELAYMESH_SELF");
    if (self != null && !self.isEmpty() && Files.isExecutable(Path.of(self))) {
      return self;
    }
    try {
      Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      return quote(java) + " -jar " + quote(jar.toString());
    } catch (URISyntaxException | SecurityException e) {
      return "relaymesh";
    }
  }

  private static String quote(String s) {
    return s.matches("[A-Za-z0-9_./:@%+=-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
  }
}
