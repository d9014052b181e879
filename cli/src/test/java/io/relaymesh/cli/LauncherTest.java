package io.relaymesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script {@code ./relaymesh} (repo root) and its class-data-sharing archive: run with
 * a fake {@code java} first on PATH that records its arguments (and, asked to dump an archive,
 * writes one), and {@code RELAYMESH_JAR} pointing at a file in a temporary directory.
 */
class LauncherTest {

  static final Path LAUNCHER = Path.of("..", "relaymesh").toAbsolutePath().normalize();

  @TempDir Path dir;
  Path jar;
  Path jsa;
  Path calls;

  @BeforeEach
  void fakeJava() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    calls = dir.resolve("calls");
    Path java = bin.resolve("java");
    // one line per call; -XX:ArchiveClassesAtExit=F writes F (9 MB); the check run (-Xshare:on)
    // fails when the archive holds "bad"
    Files.writeString(java, String.join("\n",
        "#!/usr/bin/env bash",
        "echo \"$*\" >> '" + calls + "'",
        "for a in \"$@\"; do",
        "  case \"$a\" in",
        "    -XX:ArchiveClassesAtExit=*) echo archive > \"${a#*=}\"; truncate -s 9M \"${a#*=}\" ;;",
        "    -XX:SharedArchiveFile=*) f=\"${a#*=}\" ;;",
        "    -Xshare:on) on=1 ;;",
        "  esac",
        "done",
        "if [ -n \"${on:-}\" ] && grep -q bad \"$f\"; then exit 1; fi",
        "exit 0", ""));
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    jar = dir.resolve("lib").resolve("relaymesh.jar");
    Files.createDirectories(jar.getParent());
    Files.writeString(jar, "jar");
    Files.setLastModifiedTime(jar, FileTime.from(Instant.now().minusSeconds(3600)));
    jsa = jar.resolveSibling("relaymesh.jsa");
  }

  List<String> run(String... args) throws Exception {
    Files.deleteIfExists(calls);
    List<String> cmd = new java.util.ArrayList<>(List.of("bash", LAUNCHER.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("out").toFile());
    pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
    pb.environment().put("RELAYMESH_JAR", jar.toString());
    pb.environment().remove("RELAYMESH_CDS");
    pb.environment().remove("RELAYMESH_CDS_ARCHIVE");
    pb.environment().remove("RELAYMESH_JAVA_OPTS");
    Process p = pb.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("launcher finished").isTrue();
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("out"))).isZero();
    return Files.exists(calls) ? Files.readAllLines(calls, StandardCharsets.UTF_8) : List.of();
  }

  @Test
  void firstProxyCommandRunWritesTheArchiveAndTheNextCheckedRunUsesIt() throws Exception {
    List<String> first = run("ssh", "--stdio", "relaymesh.dev");
    assertThat(first).hasSize(1);
    assertThat(first.get(0)).contains("-XX:+UseSerialGC", "-Xshare:auto", "-Xlog:disable",
        "-Dio.netty.jfr.enabled=false", "-XX:ArchiveClassesAtExit=" + jsa + ".")
        .doesNotContain("-XX:SharedArchiveFile", "TieredStopAtLevel")
        .endsWith("-jar " + jar + " ssh --stdio relaymesh.dev");
    assertThat(Files.exists(jsa)).isFalse(); // the dump is a temporary file until checked

    List<String> second = run("ssh", "--stdio", "relaymesh.dev");
    assertThat(second).hasSize(2);
    assertThat(second.get(0)).contains("-Xshare:on").endsWith("--version");
    assertThat(second.get(1)).contains("-XX:SharedArchiveFile=" + jsa).doesNotContain("ArchiveClassesAtExit");
    assertThat(Files.readString(jsa)).startsWith("archive\n");
    try (var files = Files.list(jar.getParent())) {
      assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("relaymesh.jar", "relaymesh.jsa");
    }

    // other client commands use it too, with the quick compiler only; they never write one
    assertThat(run("whoami")).singleElement().asString()
        .contains("-XX:SharedArchiveFile=" + jsa, "-XX:TieredStopAtLevel=1");
  }

  @Test
  void anArchiveOlderThanTheJarIsDeletedAndOneThatFailsTheCheckIsNotInstalled() throws Exception {
    Files.writeString(jsa, "archive");
    Files.setLastModifiedTime(jsa, FileTime.from(Instant.now().minusSeconds(7200)));
    assertThat(run("whoami")).singleElement().asString().doesNotContain("SharedArchiveFile", "ArchiveClassesAtExit");
    assertThat(Files.exists(jsa)).as("stale archive deleted").isFalse();

    Path dumped = jar.resolveSibling("relaymesh.jsa.999999999.tmp"); // no such process: finished
    Files.writeString(dumped, "archive of a run that stopped early");
    assertThat(run("whoami")).singleElement().asString().doesNotContain("SharedArchiveFile");
    assertThat(Files.exists(dumped)).as("too small to be worth it").isFalse();

    Files.writeString(dumped, "bad");
    try (var f = new java.io.RandomAccessFile(dumped.toFile(), "rw")) {
      f.setLength(9 << 20);
    }
    List<String> calls = run("ssh", "--stdio", "relaymesh.dev");
    assertThat(calls).hasSize(2);
    assertThat(calls.get(0)).contains("-Xshare:on", "-XX:SharedArchiveFile=" + dumped);
    assertThat(Files.exists(dumped)).isFalse();
    assertThat(Files.exists(jsa)).isFalse();
    assertThat(calls.get(1)).contains("-XX:ArchiveClassesAtExit=" + jsa + ".").doesNotContain("SharedArchiveFile");
  }

  @Test
  void servicesKeepTheJvmDefaultsAndRelaymeshCdsOffDisablesTheArchive() throws Exception {
    Files.writeString(jsa, "archive");
    assertThat(run("--log-level", "debug", "relay", "--help")).singleElement().asString()
        .isEqualTo("-jar " + jar + " --log-level debug relay --help");
    assertThat(run("agent")).singleElement().asString().isEqualTo("-jar " + jar + " agent");

    Files.deleteIfExists(calls);
    ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "ssh", "--stdio", "x")
        .redirectErrorStream(true).redirectOutput(dir.resolve("out").toFile());
    pb.environment().put("PATH", dir.resolve("bin") + ":" + System.getenv("PATH"));
    pb.environment().put("RELAYMESH_JAR", jar.toString());
    pb.environment().put("RELAYMESH_CDS", "off");
    Process p = pb.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readAllLines(calls)).singleElement().asString()
        .contains("-XX:+UseSerialGC").doesNotContain("SharedArchiveFile", "ArchiveClassesAtExit");
  }
}
