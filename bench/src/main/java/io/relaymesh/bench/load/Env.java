package io.relaymesh.bench.load;

import io.vertx.core.Vertx;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.SelfSignedCertificate;

/**
 * What every transport under test runs on: the client side and the server (echo) side each in
 * their own {@link Vertx} instance with one event loop, so client and server never share an
 * event loop (they still share the JVM: heap, GC and JIT), and the same TLS setup for every TLS
 * transport.
 *
 * @param client Vert.x of the client side (dialer, workloads, client session)
 * @param server Vert.x of the echo side (listening sockets, server session)
 * @param cert self-signed certificate for "localhost" (clients trust it, no host verification)
 * @param tlsEngine engine of both TLS ends: OpenSSL (BoringSSL, the relay's default) or the JDK's
 */
public record Env(Vertx client, Vertx server, SelfSignedCertificate cert, SSLEngineOptions tlsEngine) {

  /** "openssl" or "jdk". */
  public String tlsEngineName() {
    return tlsEngine instanceof OpenSSLEngineOptions ? "openssl (BoringSSL, netty-tcnative)" : "jdk";
  }

  static SSLEngineOptions engine(String name) {
    if (name.equals("jdk")) {
      return new JdkSSLEngineOptions();
    }
    if (!OpenSSLEngineOptions.isAvailable()) {
      throw new IllegalStateException("--tls-engine openssl: OpenSSL (netty-tcnative) not available: "
          + io.netty.handler.ssl.OpenSsl.unavailabilityCause());
    }
    return new OpenSSLEngineOptions();
  }
}
