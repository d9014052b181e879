package io.relaymesh.relay.apps;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.config.ControlConfig;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.relaymesh.proxy.Transports;
import io.relaymesh.relay.RelayServer;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.Waits;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Real control plane (fresh database on the shared embedded PostgreSQL), real relay with apps
 * host {@value #APPS_HOST} on 127.0.0.1:0, users alice (workspace {@code dev} with a connected
 * test agent, workspace {@code idle} without one) and bob, and a Vert.x HTTP server on
 * 127.0.0.1:0 as the workspace app that records every request it receives. Requests go to the
 * relay's address with the app host name as Host and SNI ({@code *.localhost} need not resolve
 * in Java).
 */
final class AppRouterFixture implements AutoCloseable {

  static final String APPS_HOST = "apps.localhost";
  static final String REGION = "eu";

  /** A request as the app saw it. */
  record Seen(int port, HttpMethod method, String uri, MultiMap headers, String body) {}

  /** An answer of the relay. */
  record Answer(int status, MultiMap headers, String body, HttpVersion version) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  Control control;
  Vertx vertx;
  RelayServer relay;
  String adminToken;
  String relayToken;
  String alice;
  String bob;
  TestAgent agent;
  private final List<HttpServer> apps = new CopyOnWriteArrayList<>();
  final List<Seen> seen = new CopyOnWriteArrayList<>();
  private HttpClient http1;
  private HttpClient http2;

  /** Starts everything; what was started is stopped again when a step fails. */
  AppRouterFixture(Path dir, Duration appTokenTtl) {
    try {
      start(dir, appTokenTtl);
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private void start(Path dir, Duration appTokenTtl) {
    ControlConfig d = Control.config(dir.resolve("control"),
        SharedPostgres.url(SharedPostgres.newDatabase()));
    control = Control.start(AppRouterFixtureConfig.control(d, appTokenTtl));
    adminToken = control.setupAdmin();
    relayToken = control.createRegion(adminToken, REGION);
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    relay = await(RelayServer.start(vertx, RelayConfig.defaults()
        .withControl(control.server.url(), relayToken, REGION).withListen("127.0.0.1:0")
        .withAppsHost(APPS_HOST)
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("relay-tls")))
        .withAgentAuthTtl(Duration.ofSeconds(1), Duration.ofSeconds(1))));
    await(relay.firstRegistration());
    alice = control.createUser(adminToken, "alice");
    bob = control.createUser(adminToken, "bob");
    String agentToken = control.createWorkspace(alice, "dev").getString("agentToken");
    control.createWorkspace(alice, "idle");
    agent = await(TestAgent.connect(vertx, relay.port(), relay.caCertPem(), agentToken));
    Waits.until("alice's agent registered on the relay", Duration.ofSeconds(20),
        () -> !relay.agents().agentIds().isEmpty());
    PemTrustOptions trust = new PemTrustOptions().addCertValue(Buffer.buffer(relay.caCertPem()));
    http1 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(false)
        .setTrustOptions(trust).setKeepAlive(false).setConnectTimeout(10_000));
    http2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(true)
        .setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2).setTrustOptions(trust)
        .setConnectTimeout(10_000));
  }

  /**
   * Starts another workspace app (its own port, so that tests do not share the relay's resolve
   * cache): answers {@code 200 hello from the app: METHOD URI} with an app cookie, and records
   * what it received in {@link #seen}.
   */
  int startApp() {
    HttpServer app = vertx.createHttpServer();
    int[] port = new int[1];
    app.requestHandler(req -> req.body().onSuccess(b -> {
      seen.add(new Seen(port[0], req.method(), req.uri(),
          HttpHeaders.headers().addAll(req.headers()), b.toString()));
      req.response().putHeader("Content-Type", "text/plain")
          .putHeader("Set-Cookie", "appsession=a1; Path=/")
          .end("hello from the app: " + req.method() + " " + req.uri());
    }));
    port[0] = await(app.listen(0, "127.0.0.1")).actualPort();
    apps.add(app);
    return port[0];
  }

  /** What the app on {@code port} received. */
  List<Seen> seenBy(int port) {
    return seen.stream().filter(s -> s.port() == port).toList();
  }

  /** The last request the app on {@code port} saw. */
  Seen lastSeen(int port) {
    List<Seen> l = seenBy(port);
    assertThat(l).as("requests the app on port %d saw", port).isNotEmpty();
    return l.get(l.size() - 1);
  }

  /** The app host of port {@code port} of alice's {@code dev} (or {@code workspace}). */
  String host(int port, String workspace) {
    return port + "--main--" + workspace + "--alice." + APPS_HOST;
  }

  String host(int port) {
    return host(port, "dev");
  }

  /** A one-time handoff code for session {@code sessionToken} and app label {@code app}. */
  String handoffCode(String sessionToken, String app) {
    String hash = java.util.HexFormat.of().formatHex(
        io.relaymesh.control.auth.Tokens.hash(sessionToken));
    List<Object> row = control.query("SELECT id, user_id FROM sessions WHERE token_hash = decode('"
        + hash + "', 'hex')").get(0);
    return await(control.server.handoffs().create(((Number) row.get(0)).longValue(),
        ((Number) row.get(1)).longValue(), app));
  }

  /** Shares {@code port} of alice's dev at {@code level} (as alice). */
  JsonObject share(int port, String level) {
    Resp r = control.http.call("PUT", "/api/v1/workspaces/alice/dev/agents/main/ports/" + port
        + "/share", alice, new JsonObject().put("level", level));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json();
  }

  void unshare(int port) {
    Resp r = control.http.delete("/api/v1/workspaces/alice/dev/agents/main/ports/" + port
        + "/share", alice);
    assertThat(r.status()).as(r.toString()).isIn(204, 404);
  }

  /**
   * Sends a request to the relay for host {@code host} (sent as Host header, as the browser
   * would: {@code host:relayPort}) over HTTP/1.1.
   */
  Answer send(HttpMethod method, String host, String uri, MultiMap headers, String body) {
    return send(http1, method, host + ":" + relay.port(), uri, headers, body);
  }

  /** Like {@link #send} over HTTP/2 (ALPN), SNI and {@code :authority} = the app host. */
  Answer sendH2(HttpMethod method, String host, String uri, MultiMap headers) {
    RequestOptions o = new RequestOptions().setMethod(method).setHost(host)
        .setPort(relay.port()).setServer(SocketAddress.inetSocketAddress(relay.port(),
            "127.0.0.1")).setURI(uri).setTimeout(30_000);
    if (headers != null) {
      o.setHeaders(headers);
    }
    return await(http2.request(o).compose(req -> req.send())
        .compose((HttpClientResponse r) -> r.body().map(b -> new Answer(r.statusCode(),
            r.headers(), b.toString(), r.version()))));
  }

  /** With a raw {@code Host} header value. */
  Answer sendRawHost(HttpMethod method, String hostHeader, String uri, MultiMap headers,
      String body) {
    return send(http1, method, hostHeader, uri, headers, body);
  }

  private Answer send(HttpClient client, HttpMethod method, String hostHeader, String uri,
      MultiMap headers, String body) {
    RequestOptions o = new RequestOptions().setMethod(method).setHost("127.0.0.1")
        .setPort(relay.port()).setURI(uri).setTimeout(30_000);
    if (headers != null) {
      o.setHeaders(HttpHeaders.headers().addAll(headers));
    }
    o.putHeader("Host", hostHeader);
    return await(client.request(o)
        .compose(req -> body == null ? req.send() : req.send(body))
        .compose((HttpClientResponse r) -> r.body().map(b -> new Answer(r.statusCode(),
            r.headers(), b.toString(), r.version()))));
  }

  @Override
  public void close() {
    if (agent != null) {
      agent.close();
    }
    if (http1 != null) {
      http1.close();
    }
    if (http2 != null) {
      http2.close();
    }
    if (relay != null) {
      relay.stop();
    }
    apps.forEach(a -> await(a.close()));
    if (vertx != null) {
      await(vertx.close());
    }
    if (control != null) {
      control.close();
    }
  }
}
