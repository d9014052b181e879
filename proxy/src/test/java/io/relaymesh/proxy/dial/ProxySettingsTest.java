package io.relaymesh.proxy.dial;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxySettingsTest {

  static ProxySettings env(String noProxy) {
    return ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://proxy.corp:3128", "NO_PROXY", noProxy));
  }

  @Test
  void noProxyVariableMeansDirect() {
    assertThat(ProxySettings.fromEnvironment(Map.of())).isNull();
    assertThat(ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", " "))).isNull();
    assertThat(ProxySettings.fromEnvironment(Map.of("HTTP_PROXY", "http://p:1"))).isNull(); // wss only
  }

  @Test
  void parsesProxyUrl() {
    ProxySettings p = ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://u:p%40ss@proxy.corp:3128/"));
    assertThat(p.host()).isEqualTo("proxy.corp");
    assertThat(p.port()).isEqualTo(3128);
    assertThat(p.username()).isEqualTo("u");
    assertThat(p.toString()).doesNotContain("ss");
    assertThat(ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "proxy.corp")).port()).isEqualTo(80);
    // lower case wins, like curl
    assertThat(ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "http://a:1", "https_proxy", "http://b:2")).host())
        .isEqualTo("b");
    assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("HTTPS_PROXY", "socks5://p:1080")))
        .hasMessageContaining("HTTPS_PROXY").hasMessageContaining("http://");
  }

  @Test
  void noProxyRules() {
    assertThat(env("").useProxyFor("relay.example.com", 443)).isTrue();
    assertThat(env("*").useProxyFor("relay.example.com", 443)).isFalse();
    // a domain matches itself and its subdomains, not lookalikes
    ProxySettings d = env("example.com");
    assertThat(d.useProxyFor("example.com", 443)).isFalse();
    assertThat(d.useProxyFor("eu.relay.example.com", 443)).isFalse();
    assertThat(d.useProxyFor("badexample.com", 443)).isTrue();
    // a leading dot: subdomains only
    ProxySettings dot = env(".example.com");
    assertThat(dot.useProxyFor("eu.example.com", 443)).isFalse();
    assertThat(dot.useProxyFor("example.com", 443)).isTrue();
    assertThat(env("*.example.com").useProxyFor("eu.example.com", 443)).isFalse();
    // IPs, CIDRs, IPv6, ports, case
    assertThat(env("10.1.2.3").useProxyFor("10.1.2.3", 443)).isFalse();
    assertThat(env("10.1.2.3").useProxyFor("10.1.2.4", 443)).isTrue();
    assertThat(env("10.0.0.0/8").useProxyFor("10.200.0.1", 443)).isFalse();
    assertThat(env("10.0.0.0/8").useProxyFor("11.0.0.1", 443)).isTrue();
    assertThat(env("10.0.0.0/8").useProxyFor("ten.example", 443)).isTrue();
    assertThat(env("::1").useProxyFor("[::1]", 443)).isFalse();
    assertThat(env("[::1]:8443").useProxyFor("::1", 443)).isTrue();
    assertThat(env("[::1]:8443").useProxyFor("::1", 8443)).isFalse();
    assertThat(env("relay.local:8443").useProxyFor("relay.local", 8443)).isFalse();
    assertThat(env("relay.local:8443").useProxyFor("relay.local", 443)).isTrue();
    assertThat(env("Example.COM").useProxyFor("EU.example.com.", 443)).isFalse();
    assertThat(env("a.com, b.com").useProxyFor("b.com", 443)).isFalse();
    // loopback is not implicitly exempt
    assertThat(env("example.com").useProxyFor("127.0.0.1", 443)).isTrue();
    assertThat(env("example.com").useProxyFor("localhost", 443)).isTrue();
  }

  @Test
  void fingerprintFormats() {
    String hex = "ab".repeat(32);
    assertThat(TrustSpec.pinnedSha256(hex).pin()).hasSize(32);
    assertThat(TrustSpec.pinnedSha256("SHA256:" + String.join(":", java.util.Collections.nCopies(32, "AB"))).pin())
        .isEqualTo(TrustSpec.pinnedSha256(hex).pin());
    assertThatThrownBy(() -> TrustSpec.pinnedSha256("abcd")).hasMessageContaining("64 hex digits");
  }
}
