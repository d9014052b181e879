package io.relaymesh.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigDocsTest {

  /** Surefire runs in the module directory; the page lives at the repository root. */
  private static final Path PAGE = Path.of("..", "docs", "config.md");

  @Test
  void docsConfigMdIsUpToDate() throws IOException {
    String expected = ConfigDocs.render();
    if (Boolean.getBoolean("relaymesh.config.writeDocs")) {
      Files.writeString(PAGE, expected, StandardCharsets.UTF_8);
    }
    assertThat(Files.exists(PAGE))
        .as("docs/config.md is missing; generate it with: " + ConfigDocs.REGENERATE)
        .isTrue();
    String actual = Files.readString(PAGE, StandardCharsets.UTF_8);
    assertThat(actual)
        .as("docs/config.md is out of date with the config records; regenerate it with: "
            + ConfigDocs.REGENERATE)
        .isEqualTo(expected);
  }

  @Test
  void pageListsEveryKeyWithItsThreeNamesAndDefault() {
    String page = ConfigDocs.render();
    assertThat(page).contains("| `relay.apps-host` | `--apps-host` | `RELAYMESH_RELAY_APPS_HOST` |");
    assertThat(page).contains("| `relay.tls.cert` | `--tls-cert` | `RELAYMESH_RELAY_TLS_CERT` | path |");
    assertThat(page).contains("| `relay.drain-timeout` | `--drain-timeout` |"
        + " `RELAYMESH_RELAY_DRAIN_TIMEOUT` | duration | `30s` |");
    assertThat(page).contains("`RELAYMESH_CLI_CONFIG_DIR`, `RELAYMESH_CONFIG_DIR` | path |"
        + " `~/.config/relaymesh` |");
    assertThat(page).contains("| `agent.token` | `--token` | `RELAYMESH_AGENT_TOKEN` | string, secret |");
    assertThat(page).doesNotContain(System.getProperty("user.home") + "/");
  }
}
