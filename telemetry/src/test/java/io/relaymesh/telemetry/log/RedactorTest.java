package io.relaymesh.telemetry.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RedactorTest {

  static String token(String prefix) {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static String jws() {
    byte[] sig = new byte[64];
    new SecureRandom().nextBytes(sig);
    return b64("{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"relaymesh-ticket+jwt\"}") + "."
        + b64("{\"sub\":\"alice\",\"ws\":\"alice/dev\",\"port\":22}") + "."
        + Base64.getUrlEncoder().withoutPadding().encodeToString(sig);
  }

  @ParameterizedTest
  @ValueSource(strings = {"rms_", "rma_", "rmr_"})
  void opaqueTokensOfEveryKindLoseTheirSecretPart(String prefix) {
    String t = token(prefix);
    assertThat(t).hasSize(prefix.length() + 43);
    String out = Redactor.redact("agent hello with " + t + ", refused");
    assertThat(out).isEqualTo("agent hello with " + prefix + "[redacted], refused");
    assertThat(Redactor.redact(t)).isEqualTo(prefix + "[redacted]");
    for (String around : List.of("=%s&", "/%s/", "\"%s\"", "(%s)", "'%s'", ":%s,", "\n%s\n")) {
      String in = String.format(around, t);
      assertThat(Redactor.redact(in)).as(in).doesNotContain(t.substring(4, 20))
          .contains(prefix + "[redacted]");
    }
    // inside a word it is no token: an identifier such as platforms_linux_amd64_... stays
    assertThat(Redactor.redact("platforms_linux_amd64_glibc_2_31")).isEqualTo(
        "platforms_linux_amd64_glibc_2_31");
  }

  @Test
  void jwsAndJwtAreRedactedWhole() {
    String j = jws();
    assertThat(Redactor.redact("ticket " + j + " expired")).isEqualTo("ticket [redacted] expired");
    assertThat(Redactor.redact("?t=" + j + "&x=1")).isEqualTo("?t=[redacted]&x=1");
    // unsigned JWT (empty signature) and JWE (five parts)
    String unsigned = b64("{\"alg\":\"none\"}") + "." + b64("{\"sub\":\"bob\"}") + ".";
    assertThat(Redactor.redact(unsigned)).isEqualTo("[redacted].");
    String jwe = b64("{\"alg\":\"RSA-OAEP\"}") + ".aaaa.bbbb.cccc.dddd";
    assertThat(Redactor.redact(jwe)).isEqualTo("[redacted]");
    assertThat(Redactor.redact("Cookie: s=" + j)).doesNotContain(j);
    assertThat(Redactor.redact("monkeyJumpingAround.field.x")).isEqualTo("monkeyJumpingAround.field.x");
  }

  @Test
  void bearerAndAuthorizationHeaders() {
    assertThat(Redactor.redact("Authorization: Bearer abc.DEF-ghi_jkl~123+/=="))
        .isEqualTo("Authorization: Bearer [redacted]");
    assertThat(Redactor.redact("sent bearer   s3cr3tvalue to x"))
        .isEqualTo("sent bearer   [redacted] to x");
    assertThat(Redactor.redact("authorization=Basic dXNlcjpwYXNzd29yZA=="))
        .isEqualTo("authorization=Basic [redacted]");
    assertThat(Redactor.redact("{\"Authorization\": \"Basic dXNlcjpwYXNz\"}"))
        .isEqualTo("{\"Authorization\": \"Basic [redacted]\"}");
    assertThat(Redactor.redact("Proxy-Authorization: Negotiate YIIabc123"))
        .isEqualTo("Proxy-Authorization: Negotiate [redacted]");
    // the word alone is not a credential
    assertThat(Redactor.redact("missing bearer token")).isEqualTo("missing bearer token");
  }

  @Test
  void passwordsAndOtherSecretKeys() {
    assertThat(Redactor.redact("login password=hunter2 user=bob"))
        .isEqualTo("login password=[redacted] user=bob");
    assertThat(Redactor.redact("DB_PASSWORD = 'p a s s' next"))
        .isEqualTo("DB_PASSWORD = '[redacted]' next");
    assertThat(Redactor.redact("{\"password\":\"with spaces\",\"user\":\"bob\"}"))
        .isEqualTo("{\"password\":\"[redacted]\",\"user\":\"bob\"}");
    assertThat(Redactor.redact("client_secret=abc&grant=x"))
        .isEqualTo("client_secret=[redacted]&grant=x");
    assertThat(Redactor.redact("Password: hunter2")).isEqualTo("Password: [redacted]");
    assertThat(Redactor.redact("relay_token=whatever")).isEqualTo("relay_token=[redacted]");
    assertThat(Redactor.redact("{\"token\": \"abc\"}")).isEqualTo("{\"token\": \"[redacted]\"}");
    assertThat(Redactor.redact("api-key=k1 apikey=k2 ticket=t3"))
        .isEqualTo("api-key=[redacted] apikey=[redacted] ticket=[redacted]");
    // "token:" in prose is an error reason, not a secret
    assertThat(Redactor.redact("invalid token: expired")).isEqualTo("invalid token: expired");
  }

  @Test
  void urlUserInfoAndCookies() {
    assertThat(Redactor.redact("database postgresql://relay:s3cret@db:5432/rm ready"))
        .isEqualTo("database postgresql://relay:[redacted]@db:5432/rm ready");
    assertThat(Redactor.redact("Cookie: __Host-relaymesh=abc; theme=dark"))
        .isEqualTo("Cookie: [redacted]");
    assertThat(Redactor.redact("set-cookie: a=b\nnext line"))
        .isEqualTo("set-cookie: [redacted]\nnext line");
  }

  @Test
  void ordinaryLinesAreReturnedAsTheyAre() {
    for (String s : List.of("stream closed", "tunnel 42 opened from 10.0.0.7:52114 (region eu)",
        "relay eu-1 draining: 3 tunnels left", "ssh session of alice/dev ended after 12s",
        "reason=eof bytes_in=123 bytes_out=456", "http://relay.example.com:8443/healthz",
        "héllo wörld ✓ 日本", "")) {
      assertThat(Redactor.mayContainSecret(s)).as(s).isFalse();
      assertThat(Redactor.redact(s)).isSameAs(s);
    }
    assertThat(Redactor.redact(null)).isNull();
  }

  @Test
  void secretKeys() {
    assertThat(Redactor.isSecretKey("password")).isTrue();
    assertThat(Redactor.isSecretKey("relay_token")).isTrue();
    assertThat(Redactor.isSecretKey("Authorization")).isTrue();
    assertThat(Redactor.isSecretKey("cookie")).isTrue();
    assertThat(Redactor.isSecretKey("token_kind")).isFalse();
    assertThat(Redactor.isSecretKey("stream_id")).isFalse();
    assertThat(Redactor.isSecretKey("reason")).isFalse();
    assertThat(Redactor.isSecretKey(null)).isFalse();
  }

  /**
   * The pre-check never hides a secret: for random mixes of secret-ish and ordinary fragments,
   * redaction with the pre-check equals the expressions applied unconditionally.
   */
  @Test
  void preCheckIsASupersetOfTheExpressions() {
    List<String> parts = List.of("rms_", "rma_", "rmr_", "rmx_", "eyJ", "eyJhbGciOiJFUzI1NiJ9",
        ".", "..", "abcdefghijklmnopqrstuvwxyz012345", "Bearer", "bearer", "\t", " ", ":", "=",
        "\"", "'", "password", "PassWord", "secret", "token", "ticket", "authorization", "Basic",
        "cookie", "set-", "://", "@", "user", "/", "x", "_", "-", ";", ",", "&", "\n", "é", "api",
        "key", "db_", token("rms_"), jws());
    Random r = new Random(7);
    for (int i = 0; i < 50_000; i++) {
      StringBuilder sb = new StringBuilder();
      int n = 1 + r.nextInt(8);
      for (int j = 0; j < n; j++) {
        sb.append(parts.get(r.nextInt(parts.size())));
      }
      String s = sb.toString();
      assertThat(Redactor.redact(s)).as("%s", s).isEqualTo(Redactor.redactAlways(s));
    }
  }
}
