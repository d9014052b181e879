package io.relaymesh.cli;

import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.ControlServer;
import io.relaymesh.relay.RelayServer;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.security.SecureRandom;
import org.slf4j.LoggerFactory;

/**
 * The relay that runs in the control plane's process, region {@value #REGION}: for
 * {@code relaymesh server} (unless {@code --no-builtin-relay}) and {@code relaymesh dev}. It is a
 * real {@link RelayServer} with its own TLS listener that registers with the control plane over
 * HTTP like any other relay. Its relay token comes from
 * {@link ControlServer#builtinRelayToken} (the region is created when missing; only the token's
 * hash is stored there) and is kept in a 0600 file, reused while it stays valid. The self-signed
 * certificate (when none is configured) is kept in a state directory, so its fingerprint is
 * stable across restarts.
 */
final class BuiltinRelay {

  static final String REGION = "local";
  static final Duration START_TIMEOUT = Duration.ofMinutes(1);
  static final Duration REGISTER_TIMEOUT = Duration.ofSeconds(30);

  /**
   * Where and how the built-in relay runs.
   *
   * @param listen {@code host:port} of its TLS listener
   * @param listenSetting the setting that chose {@code listen}, named in errors
   *     ({@code server.relay-listen (--relay-listen)})
   * @param publicUrl URL agents and clients use; {@code null}: derived from {@code listen}
   * @param appsHost wildcard apps host; {@code null}: no apps
   * @param tlsCert PEM certificate chain, or {@code null} for a self-signed certificate
   * @param tlsKey PEM private key of {@code tlsCert}
   * @param tokenFile where the relay token is kept (mode 0600)
   * @param tlsStateDir where the self-signed certificate is kept
   * @param replicaId the replica id it registers as
   */
  record Options(String listen, String listenSetting, String publicUrl, String appsHost,
      Path tlsCert, Path tlsKey, Path tokenFile, Path tlsStateDir, String replicaId) {}

  private BuiltinRelay() {}

  /**
   * Starts the built-in relay on {@code vertx} next to {@code control} (listening at
   * {@code controlListen}) and waits until it is registered. On failure nothing is left running.
   */
  static RelayServer start(Vertx vertx, ControlServer control, String controlListen, Options o)
      throws IOException {
    String stored = StateFiles.read(o.tokenFile());
    String token = ClientTunnel.await(control.builtinRelayToken(REGION, stored),
        Duration.ofSeconds(30));
    if (!token.equals(stored)) {
      StateFiles.write(o.tokenFile(), token);
    }
    RelayConfig config = RelayConfig.defaults()
        .withControl(localUrl(controlListen, control.port()), token, REGION)
        .withReplicaId(o.replicaId())
        .withListen(o.listen())
        .withPublicUrl(o.publicUrl())
        .withAppsHost(o.appsHost())
        .withTls(new TlsConfig(o.tlsCert(), o.tlsKey()).withStateDir(o.tlsStateDir()));
    RelayServer relay;
    try {
      relay = ClientTunnel.await(RelayServer.start(vertx, config), START_TIMEOUT);
    } catch (RuntimeException e) {
      if (String.valueOf(e.getMessage()).contains("Address already in use")) {
        throw new CliException("cannot start the built-in relay on " + o.listen() + ": the port is"
            + " in use; choose another with " + o.listenSetting(), e);
      }
      throw e;
    }
    try {
      ClientTunnel.await(relay.firstRegistration(), REGISTER_TIMEOUT);
    } catch (RuntimeException e) {
      relay.stop();
      throw new CliException("the built-in relay did not register with the control plane: "
          + e.getMessage(), e);
    }
    return relay;
  }

  /**
   * Drains {@code relay} (GOAWAY to its tunnels, deregistration) for up to {@code timeout}, then
   * closes it; before the control plane stops, so that deregistering still reaches it.
   */
  static void drainAndStop(RelayServer relay, Duration timeout) {
    try {
      ClientTunnel.await(relay.drain(timeout), timeout.plusSeconds(10));
    } catch (RuntimeException e) {
      LoggerFactory.getLogger(BuiltinRelay.class).atError()
          .setMessage("built-in relay drain did not finish").addKeyValue("error", e.toString())
          .log();
    } finally {
      relay.stop();
    }
  }

  /** The replica id kept in {@code file} ({@code local-<8 hex>}), made on first use. */
  static String replicaId(Path file) throws IOException {
    return StateFiles.secret(file, () -> {
      byte[] b = new byte[4];
      new SecureRandom().nextBytes(b);
      return REGION + "-" + HexFormat.of().formatHex(b);
    });
  }

  /**
   * The public URL of a built-in relay without {@code relay-public-url}: the access URL's host
   * with the relay's port, so remote agents and clients reach it where they reach the control
   * plane; {@code null} (derived from the listener) without an access URL or with port 0.
   */
  static String publicUrl(String accessUrl, String relayListen) {
    if (accessUrl == null || accessUrl.isBlank()) {
      return null;
    }
    String port = relayListen.substring(relayListen.lastIndexOf(':') + 1);
    String host = URI.create(accessUrl).getHost();
    if (host == null || port.equals("0")) {
      return null;
    }
    return "https://" + host + ":" + port;
  }

  /** The control plane's URL on this machine (its access URL may be a proxy's). */
  static String localUrl(String controlListen, int port) {
    String host = controlListen.substring(0, controlListen.lastIndexOf(':'));
    if (host.equals("0.0.0.0") || host.isEmpty()) {
      host = "127.0.0.1";
    } else if (host.equals("::") || host.equals("[::]")) {
      host = "[::1]";
    } else if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return "http://" + host + ":" + port;
  }
}
