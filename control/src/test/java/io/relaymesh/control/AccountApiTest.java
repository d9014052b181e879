package io.relaymesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.relaymesh.control.auth.Tokens;
import io.relaymesh.control.testing.Control;
import io.relaymesh.control.testing.Http.Resp;
import io.relaymesh.control.testing.SharedPostgres;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Setup, login, sessions, rate limits and user management against real PostgreSQL. */
@ExtendWith(SharedPostgres.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(120)
class AccountApiTest {

  static Control c;

  @BeforeAll
  static void start(@TempDir Path dir) {
    c = Control.startOnNewDatabase(dir);
  }

  @AfterAll
  static void stop() {
    if (c != null) {
      c.close();
    }
  }

  static JsonObject creds(String user, String password) {
    return new JsonObject().put("username", user).put("password", password);
  }

  @Test
  @Order(1)
  void firstStartHasNoUserAndSetupCreatesTheAdminOnce() {
    assertThat(c.query("SELECT count(*) FROM users").get(0).get(0)).isEqualTo(0L);
    assertThat(c.http.get("/api/v1/setup", null).json().getBoolean("setupRequired")).isTrue();

    Resp weak = c.http.post("/api/v1/setup", null, creds("admin", "short"));
    assertThat(weak.status()).isEqualTo(400);
    assertThat(weak.json().getString("message")).contains("at least 8");

    Resp badName = c.http.post("/api/v1/setup", null, creds("Admin--x", Control.PASSWORD));
    assertThat(badName.status()).isEqualTo(400);
    assertThat(badName.code()).isEqualTo("bad_request");

    Resp ok = c.http.post("/api/v1/setup", null, creds(Control.ADMIN, Control.PASSWORD));
    assertThat(ok.status()).as(ok.toString()).isEqualTo(201);
    assertThat(ok.json().getJsonObject("user").getBoolean("admin")).isTrue();

    Resp again = c.http.post("/api/v1/setup", null, creds("mallory", Control.PASSWORD));
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.code()).isEqualTo("setup_done");
    assertThat(c.http.get("/api/v1/setup", null).json().getBoolean("setupRequired")).isFalse();

    String stored = (String) c.query("SELECT password_hash FROM users").get(0).get(0);
    assertThat(stored).startsWith("$argon2id$v=19$m=19456,t=2,p=1$").doesNotContain(Control.PASSWORD);
  }

  @Test
  @Order(2)
  void loginReturnsAnOpaqueSessionTokenStoredOnlyAsItsHash() {
    Resp r = c.http.post("/api/v1/login", null, creds(Control.ADMIN, Control.PASSWORD));
    assertThat(r.status()).isEqualTo(200);
    String token = r.json().getString("token");
    assertThat(token).startsWith("rms_").hasSize(4 + 43);
    assertThat(r.json().getString("expiresAt")).isNotBlank();

    String hex = HexFormat.of().formatHex(Tokens.hash(token));
    assertThat(c.query("SELECT count(*) FROM sessions WHERE encode(token_hash, 'hex') = '" + hex + "'")
        .get(0).get(0)).isEqualTo(1L);
    assertThat(c.query("SELECT count(*) FROM sessions WHERE encode(token_hash, 'escape') LIKE '%"
        + token.substring(4, 20) + "%'").get(0).get(0)).isEqualTo(0L);

    Resp me = c.http.get("/api/v1/me", token);
    assertThat(me.status()).isEqualTo(200);
    assertThat(me.json().getString("username")).isEqualTo(Control.ADMIN);
    assertThat(me.json().getBoolean("admin")).isTrue();
    assertThat(me.text()).doesNotContain("argon2");
    // the alternative header for scripts
    java.net.http.HttpResponse<String> viaHeader;
    try {
      viaHeader = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create(c.server.url() + "/api/v1/me"))
          .header("Relaymesh-Session-Token", token).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    assertThat(viaHeader.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(viaHeader.body()).getString("username")).isEqualTo(Control.ADMIN);
  }

  @Test
  @Order(3)
  void logoutRevokesTheSession() {
    String token = c.login(Control.ADMIN, Control.PASSWORD);
    assertThat(c.http.post("/api/v1/logout", token, null).status()).isEqualTo(204);
    Resp me = c.http.get("/api/v1/me", token);
    assertThat(me.status()).isEqualTo(401);
    assertThat(me.code()).isEqualTo("unauthenticated");
    assertThat(c.http.post("/api/v1/logout", token, null).status()).isEqualTo(401);
  }

  @Test
  @Order(4)
  void expiredSessionIsRejected() {
    String token = c.login(Control.ADMIN, Control.PASSWORD);
    String hex = HexFormat.of().formatHex(Tokens.hash(token));
    c.sql("UPDATE sessions SET expires_at = now() - interval '1 second' "
        + "WHERE encode(token_hash, 'hex') = '" + hex + "'");
    assertThat(c.http.get("/api/v1/me", token).status()).isEqualTo(401);
  }

  @Test
  @Order(5)
  void adminsManageUsersAndOthersCannot() {
    String admin = c.login(Control.ADMIN, Control.PASSWORD);
    String bob = c.createUser(admin, "bob");
    Resp dup = c.http.post("/api/v1/users", admin, creds("bob", Control.PASSWORD));
    assertThat(dup.status()).isEqualTo(409);
    assertThat(dup.json().getString("message")).isEqualTo("user 'bob' already exists");

    Resp list = c.http.get("/api/v1/users", admin);
    assertThat(list.json().getJsonArray("users").stream()
        .map(o -> ((JsonObject) o).getString("username"))).containsExactly("admin", "bob");

    assertThat(c.http.get("/api/v1/users", bob).status()).isEqualTo(403);
    assertThat(c.http.post("/api/v1/users", bob, creds("eve", Control.PASSWORD)).status())
        .isEqualTo(403);
    assertThat(c.http.get("/api/v1/me", bob).json().getBoolean("admin")).isFalse();

    assertThat(c.http.delete("/api/v1/users/nobody", admin).code()).isEqualTo("user_not_found");
    assertThat(c.http.delete("/api/v1/users/admin", admin).status()).isEqualTo(409);
    assertThat(c.http.delete("/api/v1/users/bob", admin).status()).isEqualTo(204);
    assertThat(c.http.get("/api/v1/me", bob).status()).isEqualTo(401);
  }

  @Test
  @Order(6)
  void failedLoginsAreRateLimitedPerUser() {
    String admin = c.login(Control.ADMIN, Control.PASSWORD);
    c.createUser(admin, "carol");
    for (int i = 0; i < 5; i++) {
      Resp r = c.http.post("/api/v1/login", null, creds("carol", "wrong password " + i));
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.code()).isEqualTo("invalid_credentials");
      assertThat(r.text()).doesNotContain("wrong password");
    }
    Resp limited = c.http.post("/api/v1/login", null, creds("carol", Control.PASSWORD));
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.code()).isEqualTo("rate_limited");
    assertThat(limited.json().getString("message")).contains("carol");
    // other users are not affected by carol's failures
    assertThat(c.http.post("/api/v1/login", null, creds(Control.ADMIN, Control.PASSWORD)).status())
        .isEqualTo(200);
    // the window passes (simulated by ageing the records): carol can log in again
    c.sql("UPDATE login_failures SET failed_at = now() - interval '1 hour'");
    assertThat(c.http.post("/api/v1/login", null, creds("carol", Control.PASSWORD)).status())
        .isEqualTo(200);
  }

  @Test
  @Order(7)
  void failedLoginsAreRateLimitedPerAddress() {
    c.sql("DELETE FROM login_failures");
    for (int i = 0; i < 20; i++) {
      assertThat(c.http.post("/api/v1/login", null, creds("ghost" + i, "nope nope")).status())
          .isEqualTo(401);
    }
    Resp limited = c.http.post("/api/v1/login", null, creds(Control.ADMIN, Control.PASSWORD));
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.json().getString("message")).contains("127.0.0.1");
    c.sql("DELETE FROM login_failures");
  }

  @Test
  @Order(8)
  void malformedRequestsGetTheErrorShape() {
    Resp notJson = c.http.call("POST", "/api/v1/login", null, "{not json");
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.json().fieldNames()).containsExactlyInAnyOrder("code", "message");
    Resp missing = c.http.post("/api/v1/login", null, new JsonObject().put("username", "x"));
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.json().getString("message")).isEqualTo("field 'password' is required");
    Resp huge = c.http.post("/api/v1/login", null, creds("x".repeat(300), "y"));
    assertThat(huge.status()).isEqualTo(400);
    Resp tooBig = c.http.post("/api/v1/login", null, creds("x", "y".repeat(70_000)));
    assertThat(tooBig.status()).isEqualTo(413);
    assertThat(tooBig.code()).isEqualTo("request_too_large");
    Resp unknown = c.http.get("/api/v1/nope", null);
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.code()).isEqualTo("not_found");
    assertThat(c.http.get("/healthz", null).status()).isEqualTo(200);
  }
}
