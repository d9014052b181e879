package io.relaymesh.cli.sshconfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshConfigFileTest {

  private static final String BLOCK = SshConfigFile.block("/opt/relaymesh/relaymesh");
  private static final String USER = "Host work\n  HostName work.example.com\n  User me\r\n"
      + "\n# my comment\nHost *\n    ServerAliveInterval 30\n";

  @Test
  void appendsToAFileAndKeepsEveryOtherByte() {
    String updated = SshConfigFile.update(USER, BLOCK);
    assertThat(updated).startsWith(USER).endsWith(BLOCK);
    assertThat(updated).contains("  ProxyCommand /opt/relaymesh/relaymesh ssh --stdio %h\n");
  }

  @Test
  void isIdempotent() {
    String once = SshConfigFile.update(USER, BLOCK);
    assertThat(SshConfigFile.update(once, BLOCK)).isEqualTo(once);
  }

  @Test
  void replacesTheBlockWhereItStands() {
    String old = SshConfigFile.block("/old/relaymesh");
    String file = "Host a\n  User x\n\n" + old + "\nHost b\n  User y\n";
    String updated = SshConfigFile.update(file, BLOCK);
    assertThat(updated).isEqualTo("Host a\n  User x\n\n" + BLOCK + "\nHost b\n  User y\n");
    assertThat(updated).doesNotContain("/old/relaymesh");
  }

  @Test
  void newFileHoldsOnlyTheBlock() {
    assertThat(SshConfigFile.update("", BLOCK)).isEqualTo(BLOCK);
  }

  @Test
  void fileWithoutTrailingNewlineGetsASeparator() {
    assertThat(SshConfigFile.update("Host a", BLOCK)).isEqualTo("Host a\n\n" + BLOCK);
  }

  @Test
  void damagedMarkersAreRefusedNotGuessed() {
    String broken = "Host a\n" + SshConfigFile.BEGIN + "\nHost relaymesh.*\n";
    assertThatThrownBy(() -> SshConfigFile.update(broken, BLOCK))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 start and 0 end markers");
  }

  @Test
  void removeTakesOutOnlyTheBlock() {
    String file = "Host a\n" + BLOCK + "Host b\n";
    assertThat(SshConfigFile.remove(file)).isEqualTo("Host a\nHost b\n");
    assertThat(SshConfigFile.remove(USER)).isEqualTo(USER);
  }

  @Test
  void commandLineIsKeptAsTheCallerQuotedIt() {
    assertThat(SshConfigFile.block("/usr/bin/java -jar '/home/me/my tools/relaymesh.jar'"))
        .contains("  ProxyCommand /usr/bin/java -jar '/home/me/my tools/relaymesh.jar' ssh --stdio %h\n");
  }

  @Test
  void diffShowsOnlyTheChangedRegion() {
    String before = "Host a\n  User x\n";
    String after = SshConfigFile.update(before, BLOCK);
    String diff = SshConfigFile.diff("/home/me/.ssh/config", before, after);
    assertThat(diff).startsWith("--- /home/me/.ssh/config\n+++ /home/me/.ssh/config\n@@ -1,2 +1,");
    assertThat(diff).contains(" Host a\n", "  User x\n", "+" + SshConfigFile.BEGIN + "\n",
        "+" + SshConfigFile.END + "\n");
    assertThat(diff.lines().filter(l -> l.startsWith("-") && !l.startsWith("---"))).isEmpty();
    assertThat(SshConfigFile.diff("f", after, after)).isEmpty();
  }

  @Test
  void writeIsAtomicAndKeepsPermissions(@TempDir Path dir) throws Exception {
    Path ssh = dir.resolve(".ssh");
    Path config = ssh.resolve("config");
    SshConfigFile.write(config, BLOCK);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ssh)))
        .isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config)))
        .isEqualTo("rw-------");
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r-----"));
    SshConfigFile.write(config, USER + BLOCK);
    assertThat(Files.readString(config)).isEqualTo(USER + BLOCK);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config)))
        .isEqualTo("rw-r-----");
    try (var files = Files.list(ssh)) {
      assertThat(files).containsExactly(config);
    }
  }

  @Test
  void realOpenSshParsesTheBlock(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("config");
    SshConfigFile.write(config, SshConfigFile.update(USER, BLOCK));
    Process p = new ProcessBuilder("ssh", "-G", "-F", config.toString(), "relaymesh.dev")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(out).contains("proxycommand /opt/relaymesh/relaymesh ssh --stdio %h")
        .contains("stricthostkeychecking false").contains("userknownhostsfile /dev/null");
    Process other = new ProcessBuilder("ssh", "-G", "-F", config.toString(), "work")
        .redirectErrorStream(true).start();
    String otherOut = new String(other.getInputStream().readAllBytes());
    assertThat(other.waitFor()).isZero();
    assertThat(otherOut).contains("hostname work.example.com").doesNotContain("proxycommand");
  }
}
