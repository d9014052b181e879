package io.relaymesh.relay.tls;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.util.Locale;

/**
 * The TLS implementation the relay uses: OpenSSL (BoringSSL, from netty-tcnative-boringssl-static)
 * when its native library loads on this platform, the JDK's otherwise.
 */
public enum TlsEngine {
  OPENSSL,
  JDK;

  /** Which engine to use: {@code auto} prefers OpenSSL and falls back to the JDK. */
  public enum Preference {
    AUTO,
    OPENSSL,
    JDK;

    /** Parses {@code auto}, {@code openssl} or {@code jdk} (any case). */
    public static Preference parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "relay.tls.engine: '" + value + "' is not one of auto, openssl, jdk");
      }
    }
  }

  /** Whether the OpenSSL engine can be used in this JVM. */
  public static boolean openSslAvailable() {
    return OpenSsl.isAvailable();
  }

  /**
   * The engine for {@code preference}. {@code OPENSSL} when OpenSSL cannot be loaded is an error
   * naming the cause; {@code AUTO} falls back to the JDK.
   */
  public static TlsEngine select(Preference preference) {
    return switch (preference) {
      case JDK -> JDK;
      case OPENSSL -> {
        if (!openSslAvailable()) {
          throw new IllegalStateException("relay.tls.engine: openssl requested but not available: "
              + OpenSsl.unavailabilityCause());
        }
        yield OPENSSL;
      }
      case AUTO -> openSslAvailable() ? OPENSSL : JDK;
    };
  }

  /** The Vert.x options that select this engine. */
  public SSLEngineOptions options() {
    return switch (this) {
      case OPENSSL -> new OpenSSLEngineOptions().setSessionCacheEnabled(true);
      case JDK -> new JdkSSLEngineOptions();
    };
  }

  /** For the start-up log line: {@code openssl (BoringSSL)} or {@code jdk (Java 17.0.15)}. */
  public String description() {
    return switch (this) {
      case OPENSSL -> "openssl (" + OpenSsl.versionString() + ")";
      case JDK -> {
        String d = "jdk (Java " + System.getProperty("java.version") + ")";
        Throwable cause = OpenSsl.unavailabilityCause();
        yield cause == null ? d : d + "; openssl unavailable: " + cause;
      }
    };
  }
}
