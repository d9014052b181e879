package io.relaymesh.relay.apps;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hop-by-hop headers are removed in any case, with the headers {@code Connection} names. */
class HopByHopTest {

  private static List<String> names(HttpHeaders h) {
    List<String> out = new ArrayList<>();
    h.forEach(e -> out.add(e.getKey() + ": " + e.getValue()));
    return out;
  }

  @Test
  void hopByHopHeadersAndTheNamedOnesGoOthersKeepTheirOrderAndCase() {
    MultiMap in = MultiMap.caseInsensitiveMultiMap()
        .add("X-First", "1")
        .add("CONNECTION", "keep-alive, X-Private ,Close")
        .add("Keep-Alive", "timeout=5")
        .add("x-private", "secret")
        .add("Transfer-ENCODING", "chunked")
        .add("TE", "trailers")
        .add("Te-Not", "kept")
        .add("Proxy-Authorization", "Basic x")
        .add("Upgrade", "h2c")
        .add("Content-Type", "text/plain")
        .add("X-First", "2");
    HttpHeaders out = new DefaultHttpHeaders();
    HopByHop.copy(in, out, false);
    assertThat(names(out)).containsExactly("X-First: 1", "Te-Not: kept",
        "Content-Type: text/plain", "X-First: 2");
  }

  @Test
  void intoAMultiMapAsTheResponseHeadIsCopied() {
    HttpHeaders app = new DefaultHttpHeaders().add("Content-Length", "3")
        .add("Connection", "keep-alive").add("Set-Cookie", "a=1").add("Set-Cookie", "b=2");
    MultiMap out = MultiMap.caseInsensitiveMultiMap();
    HopByHop.copy(app, out::add, false);
    assertThat(out.names()).containsExactlyInAnyOrder("Content-Length", "Set-Cookie");
    assertThat(out.getAll("set-cookie")).containsExactly("a=1", "b=2");
  }

  @Test
  void aWebSocketUpgradeKeepsItsPairAndTheSecWebSocketHeaders() {
    MultiMap in = MultiMap.caseInsensitiveMultiMap()
        .add("Connection", "Upgrade, Sec-WebSocket-Key")
        .add("Upgrade", "websocket")
        .add("Sec-WebSocket-Key", "k")
        .add("Sec-WebSocket-Version", "13");
    HttpHeaders out = new DefaultHttpHeaders();
    HopByHop.copy(in, out, true);
    assertThat(out.get("Sec-WebSocket-Key")).isEqualTo("k");
    assertThat(out.get("Sec-WebSocket-Version")).isEqualTo("13");
    assertThat(out.get("Upgrade")).isEqualTo("websocket");
    assertThat(out.get("Connection")).isEqualTo("Upgrade");
    assertThat(HopByHop.isWebSocketUpgrade("GET", in)).isTrue();
    assertThat(HopByHop.isWebSocketUpgrade("POST", in)).isFalse();
  }
}
