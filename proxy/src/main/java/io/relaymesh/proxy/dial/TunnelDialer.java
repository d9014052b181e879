package io.relaymesh.proxy.dial;

import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.OpenSSLEngineOptions;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Client side of a tunnel, shared by the agent ({@code /api/v1/tunnel/agent}) and the CLI
 * ({@code /api/v1/tunnel/client}): connects a WebSocket to {@code wss://host:port/path} with the
 * given headers, offering subprotocol {@code relaymesh.v1}, through the HTTP CONNECT proxy of
 * {@link DialOptions#proxy()} unless {@code NO_PROXY} exempts the host, trusting the relay per
 * {@link TrustSpec}, TCP_NODELAY on; then creates the client-role {@link Session} and waits for
 * the relay's SETTINGS. Every failure is a {@link DialException} naming the URL and why (a refused
 * upgrade carries the HTTP status and the server's JSON {@code {"code","message"}}).
 *
 * <p>Each dial uses its own Vert.x WebSocket client (so trust and proxy apply per dial), released
 * when the session closes. The session lives on the caller's event loop when {@code dial} is
 * called on one, else on a fresh event-loop context.
 *
 * <p>Usage (CLI, {@code ssh --stdio}):
 * <pre>{@code
 * TunnelDialer dialer = TunnelDialer.create(vertx, DialOptions.defaults().withTrust(TrustSpec.pemFile(ca)));
 * dialer.dial(relayUrl + "/api/v1/tunnel/client", Map.of("Authorization", "Bearer " + ticket))
 *     .compose(t -> t.session().open(WireSpec.KIND_SSH, "", null))
 *     .onSuccess(stream -> ...pipe stdin/stdout...);
 * }</pre>
 *
 * <p>Thread-safe: {@code dial} may be called from any thread.
 */
public final class TunnelDialer {
  private static final Logger LOG = LoggerFactory.getLogger(TunnelDialer.class);

  private final Vertx vertx;
  private final DialOptions options;

  private TunnelDialer(Vertx vertx, DialOptions options) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.options = Objects.requireNonNull(options, "options");
  }

  public static TunnelDialer create(Vertx vertx, DialOptions options) {
    return new TunnelDialer(vertx, options);
  }

  public DialOptions options() {
    return options;
  }

  /** Dials without accepting streams from the relay (the CLI's case). */
  public Future<DialedTunnel> dial(String url, Map<String, String> headers) {
    return dial(url, headers, null, null);
  }

  /**
   * Dials {@code url} ({@code wss://} or {@code https://}; the path is kept).
   *
   * @param headers extra request headers (e.g. {@code Authorization})
   * @param openHandler handles streams the relay opens; installed before the session's SETTINGS
   *     are processed, so no early OPEN is missed; null: the relay's opens are refused
   * @param metrics per-session metrics; null: {@link DialOptions#metrics()}
   */
  public Future<DialedTunnel> dial(String url, Map<String, String> headers, Handler<Stream> openHandler,
      SessionMetrics metrics) {
    Target target;
    try {
      target = Target.parse(url);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new DialException(url, 0, null, null, e.getMessage(), e));
    }
    Context current = Vertx.currentContext();
    Context ctx = current != null && current.isEventLoopContext() && current.owner() == vertx
        ? current : ((VertxInternal) vertx).createEventLoopContext();
    Promise<DialedTunnel> promise = Promise.promise();
    ctx.runOnContext(v -> start(ctx, target, headers, openHandler,
        metrics != null ? metrics : options.metrics(), promise));
    return promise.future();
  }

  private void start(Context ctx, Target target, Map<String, String> headers, Handler<Stream> openHandler,
      SessionMetrics metrics, Promise<DialedTunnel> promise) {
    ProxySettings proxy = options.proxy();
    boolean proxied = proxy != null && proxy.useProxyFor(target.host, target.port);
    WebSocketClientOptions clientOptions = new WebSocketClientOptions()
        .setSsl(true)
        .setTcpNoDelay(true)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()))
        .setSslHandshakeTimeout(options.handshakeTimeout().toMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setMaxMessageSize(WireSpec.MAX_MESSAGE_SIZE);
    if (OpenSSLEngineOptions.isAvailable()) {
      // BoringSSL (netty-tcnative): several times the JDK engine's AES-GCM throughput
      clientOptions.setSslEngineOptions(new OpenSSLEngineOptions());
    }
    clientOptions.setTrustOptions(options.trust().trustOptions());
    clientOptions.setVerifyHost(options.trust().verifyHost());
    if (proxied) {
      clientOptions.setProxyOptions(proxy.toProxyOptions());
    }
    String via = proxied ? " via proxy " + proxy.host() + ":" + proxy.port() : "";
    WebSocketClient client;
    try {
      client = vertx.createWebSocketClient(clientOptions);
    } catch (RuntimeException e) {
      promise.fail(new DialException(target.url, 0, null, null, "cannot set up the client: " + e.getMessage(), e));
      return;
    }
    WebSocketConnectOptions connect = new WebSocketConnectOptions()
        .setHost(target.host)
        .setPort(target.port)
        .setURI(target.requestUri)
        .setSsl(true)
        .addSubProtocol(WireSpec.SUBPROTOCOL)
        .putHeader(WireSpec.UNMASKED_FRAMES_HEADER, WireSpec.UNMASKED_FRAMES_VALUE);
    if (headers != null) {
      headers.forEach(connect::putHeader);
    }
    long totalMillis = options.connectTimeout().plus(options.handshakeTimeout()).toMillis();
    long timer = vertx.setTimer(totalMillis, id -> {
      if (promise.tryFail(new DialException(target.url, 0, null, null,
          "timed out after " + totalMillis + " ms connecting" + via
              + " (TCP connect, TLS, WebSocket upgrade and tunnel SETTINGS)", null))) {
        client.close();
      }
    });
    promise.future().onComplete(ar -> vertx.cancelTimer(timer));
    client.connect(connect).onComplete(ar -> {
      if (ar.failed()) {
        promise.tryFail(describe(target.url, via, ar.cause()));
        client.close();
        return;
      }
      WebSocket ws = ar.result();
      // the 101 answer's headers are only available now (null once the handler returned)
      MultiMap upgradeHeaders = MultiMap.caseInsensitiveMultiMap();
      if (ws.headers() != null) {
        upgradeHeaders.addAll(ws.headers());
      }
      if (promise.future().isComplete()) { // timed out meanwhile
        ws.close();
        client.close();
        return;
      }
      WebSocketTransport transport = WebSocketTransport.negotiated(ws);
      if (transport != null && WebSocketTransport.unmaskIfAccepted(ws, upgradeHeaders)) {
        LOG.debug("tunnel to {}: the relay accepts unmasked frames", target.url);
      }
      if (transport != null) {
        WebSocketTransport.limitUnsentBytes(ws);
      }
      if (transport == null) {
        promise.tryFail(new DialException(target.url, 0, null, null, "the server did not select tunnel subprotocol "
            + WireSpec.SUBPROTOCOL + " (got " + ws.subProtocol() + "): not a relaymesh relay, or an incompatible version",
            null));
        client.close();
        return;
      }
      Session session = Session.create(ctx, transport, Role.CLIENT, options.tunnel(), metrics);
      if (openHandler != null) {
        session.openHandler(openHandler);
      }
      session.closeFuture().onComplete(c -> client.close());
      session.ready().onComplete(r -> {
        if (r.succeeded()) {
          if (!promise.tryComplete(new DialedTunnel(session, ws, target.url, proxied, upgradeHeaders))) {
            session.close(ErrorCode.CANCEL, "dial timed out");
          } else {
            LOG.debug("tunnel to {} established{}", target.url, via);
          }
        } else {
          String why = ws.closeStatusCode() != null
              ? "closed by the server before the tunnel was ready (WebSocket close " + ws.closeStatusCode()
                  + (ws.closeReason() != null ? " " + ws.closeReason() : "") + ")"
              : "tunnel session failed before it was ready: " + r.cause().getMessage();
          promise.tryFail(new DialException(target.url, 0, null, null, why, r.cause()));
          session.close(ErrorCode.CANCEL, "dial failed");
        }
      });
    });
  }

  static DialException describe(String url, String via, Throwable cause) {
    if (cause instanceof UpgradeRejectedException) {
      UpgradeRejectedException u = (UpgradeRejectedException) cause;
      String code = null;
      String message = null;
      String body = u.getBody() == null ? "" : u.getBody().toString().trim();
      try {
        JsonObject json = new JsonObject(body);
        code = json.getString("code");
        message = json.getString("message");
      } catch (RuntimeException notJson) {
        message = body.isEmpty() ? null : body.length() > 200 ? body.substring(0, 200) + "..." : body;
      }
      StringBuilder m = new StringBuilder("HTTP ").append(u.getStatus());
      if (code != null) {
        m.append(' ').append(code);
      }
      if (message != null) {
        m.append(": ").append(message);
      } else {
        m.append(" (WebSocket upgrade refused)");
      }
      return new DialException(url, u.getStatus(), code, message, m.toString(), cause);
    }
    Throwable root = cause;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      root = t;
      if (t instanceof java.security.cert.CertificateException) {
        break;
      }
    }
    String kind;
    if (cause instanceof SSLException || root instanceof java.security.cert.CertificateException) {
      kind = "TLS handshake failed" + via + ": ";
    } else if (cause instanceof io.netty.handler.proxy.ProxyConnectException) {
      kind = "HTTP CONNECT proxy failed: ";
    } else if (cause instanceof ConnectException) {
      kind = "cannot connect" + via + ": ";
    } else {
      kind = "connection failed" + via + ": ";
    }
    String detail = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    return new DialException(url, 0, null, null, kind + detail, cause);
  }

  /** A parsed tunnel URL. */
  static final class Target {
    final String url;
    final String host;
    final int port;
    final String requestUri;

    private Target(String url, String host, int port, String requestUri) {
      this.url = url;
      this.host = host;
      this.port = port;
      this.requestUri = requestUri;
    }

    static Target parse(String url) {
      if (url == null || url.isBlank()) {
        throw new IllegalArgumentException("no tunnel URL");
      }
      URI uri;
      try {
        uri = new URI(url.trim());
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("not a URL (" + e.getReason() + ")");
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("wss") && !scheme.equals("https")) {
        throw new IllegalArgumentException("tunnels are TLS only: use wss:// or https://, got '" + scheme + "://'");
      }
      if (uri.getHost() == null) {
        throw new IllegalArgumentException("no host in the URL");
      }
      String host = uri.getHost();
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port = uri.getPort() > 0 ? uri.getPort() : 443;
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      String requestUri = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
      String canonical = "wss://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + path;
      return new Target(canonical, host, port, requestUri);
    }
  }
}
