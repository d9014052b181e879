package io.relaymesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.proxy.testutil.Await;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.Test;

class TransportsTest {

  @Test
  void prefersNativeTransportAndNamesIt() {
    Vertx vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(1));
    try {
      boolean linuxX64 = System.getProperty("os.name").toLowerCase().contains("linux")
          && System.getProperty("os.arch").matches("amd64|x86_64");
      if (linuxX64) {
        // netty-transport-native-epoll:linux-x86_64 is a runtime dependency of proxy
        assertThat(vertx.isNativeTransportEnabled())
            .as("epoll unavailable: %s", vertx.unavailableNativeTransportCause()).isTrue();
        assertThat(Transports.name(vertx)).isEqualTo("epoll");
      } else {
        assertThat(Transports.name(vertx)).isIn("nio", "native");
      }
    } finally {
      Await.await(vertx.close());
    }
  }

  @Test
  void nioIsReportedWhenNativeIsNotUsed() {
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(false)
        .setEventLoopPoolSize(1));
    try {
      assertThat(Transports.name(vertx)).isEqualTo("nio");
    } finally {
      Await.await(vertx.close());
    }
  }
}
