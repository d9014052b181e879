package io.relaymesh.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestTest {

  private static final List<String> KEYS =
      List.of("control-url", "token", "region", "apps-host", "drain-timeout", "tls");

  @Test
  void distanceCountsTranspositionsAsOneEdit() {
    assertThat(Suggest.distance("host", "hots")).isEqualTo(1);
    assertThat(Suggest.distance("kitten", "sitting")).isEqualTo(3);
    assertThat(Suggest.distance("", "abc")).isEqualTo(3);
  }

  @Test
  void closeTyposAreSuggested() {
    assertThat(Suggest.closest("regoin", KEYS)).isEqualTo("region");
    assertThat(Suggest.closest("tokn", KEYS)).isEqualTo("token");
    assertThat(Suggest.closest("drain-timout", KEYS)).isEqualTo("drain-timeout");
    assertThat(Suggest.closest("tsl", KEYS)).isEqualTo("tls");
  }

  @Test
  void otherSpellingsOfTheSameNameAreSuggested() {
    assertThat(Suggest.closest("controlUrl", KEYS)).isEqualTo("control-url");
    assertThat(Suggest.closest("APPS_HOST", KEYS)).isEqualTo("apps-host");
  }

  @Test
  void farOffNamesGetNoSuggestion() {
    assertThat(Suggest.closest("listen", KEYS)).isNull();
    assertThat(Suggest.closest("x", KEYS)).isNull();
    assertThat(Suggest.closest("anything", List.of())).isNull();
  }
}
