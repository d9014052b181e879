package io.relaymesh.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfile cannot be built here (no Docker engine); this checks that it and the charts
 * agree: the jar the CLI module builds is the one the image runs and the charts start, and the
 * image's user is the charts' user.
 */
class DockerfileTest {

  @Test
  void imageRunsTheCliJarAsTheChartsNonRootUser() throws IOException {
    String dockerfile = Files.readString(Charts.REPO.resolve("Dockerfile"));
    String cliPom = Files.readString(Charts.REPO.resolve("cli/pom.xml"));
    Matcher finalName = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(cliPom);
    assertThat(finalName.find()).isTrue();
    assertThat(dockerfile).contains("mvn -B -q -pl cli -am package -DskipTests")
        .contains("cli/target/" + finalName.group(1) + ".jar");

    List<String> stages = Pattern.compile("(?m)^FROM\\s+(\\S+)").matcher(dockerfile).results()
        .map(r -> r.group(1)).toList();
    assertThat(stages).containsExactly("maven:3-eclipse-temurin-17", "eclipse-temurin:17-jre");

    Matcher user = Pattern.compile("(?m)^USER\\s+(\\d+):(\\d+)\\s*$").matcher(dockerfile);
    assertThat(user.find()).as("numeric USER uid:gid").isTrue();
    int uid = Integer.parseInt(user.group(1));
    assertThat(uid).isGreaterThan(0);

    Matcher entry = Pattern.compile("(?m)^ENTRYPOINT\\s+\\[(.*)]\\s*$").matcher(dockerfile);
    assertThat(entry.find()).isTrue();
    List<String> entrypoint = Pattern.compile("\"([^\"]*)\"").matcher(entry.group(1)).results()
        .map(r -> r.group(1)).toList();
    assertThat(entrypoint.get(0)).isEqualTo("java");
    assertThat(entrypoint).anyMatch(a -> a.startsWith("-XX:MaxRAMPercentage="));
    String jar = entrypoint.get(entrypoint.indexOf("-jar") + 1);
    assertThat(dockerfile).contains("/opt/relaymesh/relaymesh.jar");

    for (Manifests m : List.of(
        new Manifests(Charts.render(Charts.RELAY, "relay-eu", RelayChartTest::required)),
        new Manifests(Charts.render(Charts.CONTROL, "relaymesh", ControlChartTest::required)))) {
      List<?> command = (List<?>) m.container().get("command");
      assertThat(command.get(0)).isEqualTo("java");
      assertThat(command.get(command.indexOf("-jar") + 1)).isEqualTo(jar);
      Map<String, Object> pod = Manifests.map(m.podSpec(), "securityContext");
      assertThat(pod.get("runAsUser")).isEqualTo(uid);
    }
  }
}
