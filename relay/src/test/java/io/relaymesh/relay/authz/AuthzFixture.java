package io.relaymesh.relay.authz;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.relaymesh.config.RelayConfig;
import io.relaymesh.config.TlsConfig;
import io.relaymesh.control.apps.AppTokens;
import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.tickets.PeerTickets;
import io.relaymesh.control.tickets.TicketIssuer;
import io.relaymesh.proxy.Transports;
import io.relaymesh.proxy.wire.WireSpec;
import io.relaymesh.relay.RelayServer;
import io.relaymesh.relay.testing.TestAgent;
import io.relaymesh.relay.testing.Waits;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What {@link RelayAuthorizationMatrixTest} runs against: a real control plane (fresh database on
 * the shared embedded PostgreSQL), relay A ({@code eu/eu-1}, apps host {@value #APPS_HOST}) whose
 * five entry points are probed, and relay B ({@code us/us-1}), registered so that genuine peer
 * tickets exist for it and from it. Alice's agent of workspace {@code alice/dev} is connected to
 * A; behind it a TCP echo and an HTTP app, each counting the connections it accepts, so that a
 * test can tell whether anything was forwarded. Also the credentials the matrix needs: genuine
 * ones from the control plane's API, and expired or forged ones signed with the control plane's
 * real key (read from its database) or with a rogue key that claims the real key's id.
 */
final class AuthzFixture implements AutoCloseable {

  static final String APPS_HOST = "apps.localhost";

  final Control control;
  final Vertx vertx;
  final RelayServer a;
  final RelayServer b;
  final String admin;
  final String usToken;
  final String alice;
  final String bob;
  final String aliceAgentToken;
  final TestAgent agent;
  final int echoPort;
  final int appPort;
  /** TCP connections the echo behind alice's agent accepted. */
  final AtomicInteger echoConnections = new AtomicInteger();
  /** HTTP requests the app behind alice's agent received. */
  final AtomicInteger appRequests = new AtomicInteger();
  private final NetServer echo;
  private final HttpServer app;
  private final HttpClient http;
  private final WebSocketClient ws;
  private final String issuer;
  private final String kid;

  /** Starts everything; on a failure stops what was started and rethrows. */
  static AuthzFixture start(Path dir) {
    AuthzFixture[] made = new AuthzFixture[1];
    try {
      return new AuthzFixture(dir, made);
    } catch (RuntimeException | AssertionError e) {
      if (made[0] != null) {
        made[0].close();
      }
      throw e;
    }
  }

  private AuthzFixture(Path dir, AuthzFixture[] self) {
    self[0] = this;
    control = Control.start(Control.relayTestConfig(dir.resolve("control"),
        Duration.ofSeconds(3)).withAppTokenTtl(Duration.ofSeconds(60)));
    admin = control.setupAdmin();
    String euToken = control.createRegion(admin, "eu");
    usToken = control.createRegion(admin, "us");
    vertx = Transports.create(new VertxOptions().setEventLoopPoolSize(4));
    a = await(RelayServer.start(vertx, relay(dir, "eu", "eu-1", euToken)));
    b = await(RelayServer.start(vertx, relay(dir, "us", "us-1", usToken)));
    await(a.firstRegistration());
    await(b.firstRegistration());
    alice = control.createUser(admin, "alice");
    bob = control.createUser(admin, "bob");
    aliceAgentToken = control.createWorkspace(alice, "dev").getString("agentToken");
    control.createWorkspace(bob, "other");
    echo = vertx.createNetServer().connectHandler(s -> {
      echoConnections.incrementAndGet();
      s.pipeTo(s);
    });
    echoPort = await(echo.listen(0, "127.0.0.1")).actualPort();
    app = vertx.createHttpServer().requestHandler(req -> {
      appRequests.incrementAndGet();
      req.response().end("hello from the app");
    });
    appPort = await(app.listen(0, "127.0.0.1")).actualPort();
    agent = await(TestAgent.connect(vertx, a.port(), a.caCertPem(), aliceAgentToken));
    Waits.until("alice/dev's agent reported on relay eu/eu-1", Duration.ofSeconds(20),
        () -> relaysOf(alice, "alice/dev").equals(List.of("eu/eu-1")));
    http = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(false)
        .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(a.caCertPem())))
        .setKeepAlive(false).setConnectTimeout(10_000));
    ws = vertx.createWebSocketClient(TestAgent.trusting(a.caCertPem()));
    try {
      SignedJWT genuine = SignedJWT.parse(ticket(alice, "dev", echoPort, null));
      issuer = genuine.getJWTClaimsSet().getIssuer();
      kid = genuine.getHeader().getKeyID();
    } catch (java.text.ParseException e) {
      throw new AssertionError(e);
    }
  }

  private RelayConfig relay(Path dir, String region, String replica, String token) {
    return RelayConfig.defaults().withControl(control.server.url(), token, region)
        .withReplicaId(replica).withListen("127.0.0.1:0").withAppsHost(APPS_HOST)
        .withTls(TlsConfig.defaults().withStateDir(dir.resolve("tls-" + replica)))
        .withAgentAuthTtl(Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  List<String> relaysOf(String token, String workspace) {
    return control.agentRelays(token, workspace);
  }


  // ---- genuine credentials -------------------------------------------------------------------

  /** A connection ticket from {@code POST /api/v1/tickets}; {@code region} null: all relays. */
  String ticket(String userToken, String workspace, int port, String region) {
    return control.ticket(userToken, workspace, port, region).getString("ticket");
  }

  /** A peer ticket of B ({@code us/us-1}) for replica {@code region/replica}. */
  String peerTicket(String region, String replica) {
    Resp r = control.http.post("/api/v1/relay/peer-ticket", usToken, new JsonObject()
        .put("replicaId", "us-1").put("targetRegion", region).put("targetReplicaId", replica));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.json().getString("ticket");
  }

  /** The app label of port {@code port} of {@code owner}'s workspace {@code workspace}. */
  static String label(int port, String workspace, String owner) {
    return port + "--main--" + workspace + "--" + owner;
  }

  /** The app label of the app behind alice's agent. */
  String appLabel() {
    return label(appPort, "dev", "alice");
  }

  /** {@code [sessionId, userId]} of a session token. */
  long[] session(String sessionToken) {
    String hash = HexFormat.of().formatHex(Tokens.hash(sessionToken));
    List<Object> row = control.query("SELECT id, user_id FROM sessions WHERE token_hash ="
        + " decode('" + hash + "', 'hex')").get(0);
    return new long[] {((Number) row.get(0)).longValue(), ((Number) row.get(1)).longValue()};
  }

  /**
   * An app token (the app cookie's value) of the session {@code sessionToken} for app
   * {@code label}, signed with {@code key}, valid from {@code from} for {@code life}: what the
   * control plane issues when {@code key} is its key.
   */
  String appToken(ECKey key, String username, String sessionToken, String label, Instant from,
      Duration life) {
    long[] s = session(sessionToken);
    Instant iat = from.truncatedTo(ChronoUnit.SECONDS);
    return AppTokens.sign(key, new AppTokens.Claims(UUID.randomUUID().toString(), issuer,
        username, s[1], s[0], label, iat, iat.plus(life)));
  }

  // ---- expired and forged credentials --------------------------------------------------------

  /** The control plane's real signing key (the one that signed the tickets it issues). */
  ECKey realKey() {
    Object jwk = control.query("SELECT private_jwk FROM signing_keys WHERE kid = '"
        + kid.replace("'", "") + "'").get(0).get(0);
    try {
      return ECKey.parse(String.valueOf(jwk));
    } catch (java.text.ParseException e) {
      throw new AssertionError(e);
    }
  }

  /** A key that is not the control plane's, but claims the real key's id. */
  ECKey rogueKey() {
    try {
      return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new AssertionError(e);
    }
  }

  /** {@code ticket}'s claims signed again with {@code key}, moved {@code shift} in time. */
  static String resigned(String ticket, ECKey key, Duration shift) {
    try {
      JWTClaimsSet c = SignedJWT.parse(ticket).getJWTClaimsSet();
      JWTClaimsSet moved = new JWTClaimsSet.Builder(c)
          .issueTime(Date.from(c.getIssueTime().toInstant().plus(shift)))
          .notBeforeTime(Date.from(c.getNotBeforeTime().toInstant().plus(shift)))
          .expirationTime(Date.from(c.getExpirationTime().toInstant().plus(shift))).build();
      return TicketIssuer.sign(key, TicketIssuer.TYPE, moved, "ticket");
    } catch (java.text.ParseException e) {
      throw new AssertionError(e);
    }
  }

  /** A peer ticket from B to A signed with {@code key}, issued at {@code issued}. */
  static String peerTicket(ECKey key, Instant issued) {
    Instant iat = issued.truncatedTo(ChronoUnit.SECONDS);
    return PeerTickets.sign(key, new PeerTickets.Claims(UUID.randomUUID().toString(), "test",
        "us", "us-1", "eu", "eu-1", iat, iat.plus(PeerTickets.TTL)));
  }

  // ---- probes --------------------------------------------------------------------------------

  /** A WebSocket upgrade of relay A's {@code path} with {@code bearer}: the answer. */
  Outcome upgrade(String path, String bearer) {
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost("127.0.0.1")
        .setPort(a.port()).setSsl(true).setURI(path).addSubProtocol(WireSpec.SUBPROTOCOL);
    if (bearer != null) {
      o.putHeader("Authorization", "Bearer " + bearer);
    }
    try {
      io.vertx.core.http.WebSocket socket = await(ws.connect(o));
      await(socket.close());
      return new Outcome("101", "upgraded");
    } catch (UpgradeRejectedException e) {
      String body = e.getBody() == null ? "" : e.getBody().toString();
      return new Outcome(e.getStatus() + " " + new JsonObject(body).getString("code"), body);
    }
  }

  /** An HTTP request to relay A for app {@code label} with {@code headers}: the answer. */
  Outcome appRequest(String label, Map<String, String> headers) {
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
        .setPort(a.port()).setURI("/matrix").setTimeout(30_000)
        .setHeaders(HttpHeaders.headers().addAll(headers))
        .putHeader("Host", label + "." + APPS_HOST + ":" + a.port())
        .putHeader("Accept", "application/json");
    return await(http.request(o).compose(req -> req.send())
        .compose((HttpClientResponse r) -> r.body().map(body -> {
          String cookie = r.headers().get("Set-Cookie");
          String detail = body.toString() + (cookie == null ? "" : " [Set-Cookie: " + cookie
              .replaceAll("=[^;]*;", "=<value>;") + "]");
          if (r.statusCode() >= 400) {
            return new Outcome(r.statusCode() + " " + new JsonObject(body).getString("code"),
                detail);
          }
          return new Outcome(String.valueOf(r.statusCode()), detail);
        })));
  }

  /** An entry point's answer: {@code "401 ticket_expired"}, {@code "OPEN_ERR UNAUTHORIZED"}. */
  record Outcome(String answer, String detail) {}

  @Override
  public void close() {
    List<Runnable> steps = List.of(
        () -> http.close(), () -> ws.close(), () -> agent.close(), () -> b.stop(),
        () -> a.stop(), () -> await(echo.close()), () -> await(app.close()),
        () -> await(vertx.close()), () -> control.close());
    for (Runnable step : steps) {
      try {
        step.run();
      } catch (NullPointerException e) {
        // not started: the constructor failed before it
      } catch (RuntimeException | AssertionError e) {
        System.err.println("WARN authz fixture cleanup: " + e);
      }
    }
  }
}
