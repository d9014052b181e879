package io.relaymesh.control.apps;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Locale;

/**
 * Coverage-guided fuzzing of the app-URL parser (docs/fuzzing.md): any label or {@code Host}
 * gives an {@link AppHost} whose label round-trips, {@code null} (not an app host), or the
 * documented {@link IllegalArgumentException} with a message; never anything else.
 */
class AppHostFuzzTest {
  static final String APPS_HOST = "apps.example.com";

  @FuzzTest(maxDuration = "2m")
  void anyLabelParsesToARoundTrippingAppOrIsRefused(String label) {
    AppHost app;
    try {
      app = AppHost.parseLabel(label);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    assertThat(app.label()).isEqualTo(label.toLowerCase(Locale.ROOT));
    assertThat(app.label().length()).isLessThanOrEqualTo(AppHost.DNS_LABEL_MAX);
    assertThat(AppHost.parseLabel(app.label())).isEqualTo(app);
    assertThat(AppHost.check(app.port(), app.https(), app.agent(), app.workspace(), app.owner()))
        .isEqualTo(app);
    assertThat(AppHost.fromHost(app.host(APPS_HOST), APPS_HOST)).isEqualTo(app);
  }

  @FuzzTest(maxDuration = "2m")
  void anyHostHeaderIsAnAppNotAnAppOrRefused(FuzzedDataProvider data) {
    String appsHost = data.consumeBoolean() ? APPS_HOST + (data.consumeBoolean() ? ":443" : "")
        : data.consumeString(40);
    String host = data.consumeRemainingAsString();
    AppHost app;
    try {
      app = AppHost.fromHost(host, appsHost);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    if (app == null) {
      return; // not under the apps host
    }
    String base = AppHost.stripPort(appsHost).toLowerCase(Locale.ROOT);
    String bare = AppHost.stripPort(host).toLowerCase(Locale.ROOT);
    assertThat(bare.endsWith(".") ? bare.substring(0, bare.length() - 1) : bare)
        .isEqualTo(app.host(base));
    assertThat(AppHost.fromHost(app.host(base), base)).isEqualTo(app);
  }
}
