package io.relaymesh.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the process's {@link Vertx} preferring Netty's native epoll transport (shipped as the
 * runtime dependency {@code netty-transport-native-epoll:linux-x86_64}); falls back to NIO when
 * it is unavailable (other OS/arch, missing library) and logs which one is in use:
 * {@code transport: epoll} or {@code transport: nio (...)}. Used by relay, agent and CLI.
 */
public final class Transports {
  private static final Logger LOG = LoggerFactory.getLogger(Transports.class);

  private Transports() {}

  /** Creates Vert.x with {@code preferNativeTransport} set on a copy of {@code options}. */
  public static Vertx create(VertxOptions options) {
    VertxOptions o = new VertxOptions(options).setPreferNativeTransport(true);
    Vertx vertx = Vertx.vertx(o);
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("transport: {}", name(vertx));
    } else {
      Throwable cause = vertx.unavailableNativeTransportCause();
      LOG.info("transport: nio (native transport unavailable: {})",
          cause == null ? "unknown" : cause.toString());
    }
    return vertx;
  }

  /** {@code "epoll"} (or the native transport's name) or {@code "nio"}. */
  public static String name(Vertx vertx) {
    if (!vertx.isNativeTransportEnabled()) {
      return "nio";
    }
    return System.getProperty("os.name", "").toLowerCase().contains("linux") ? "epoll" : "native";
  }
}
