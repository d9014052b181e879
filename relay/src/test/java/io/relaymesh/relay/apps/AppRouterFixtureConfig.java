package io.relaymesh.relay.apps;

import io.relaymesh.config.ControlConfig;
import java.time.Duration;

/**
 * The control plane settings of {@link AppRouterFixture}: heartbeats every second, no built-in
 * relay, app tokens living {@code appTokenTtl}.
 */
final class AppRouterFixtureConfig {
  private AppRouterFixtureConfig() {}

  static ControlConfig control(ControlConfig d, Duration appTokenTtl) {
    return new ControlConfig(d.listen(), d.accessUrl(), d.dataDir(), d.postgresUrl(), false,
        d.sessionTtl(), d.ticketTtl(), Duration.ofSeconds(3), d.keyRotation())
        .withAppTokenTtl(appTokenTtl);
  }
}
