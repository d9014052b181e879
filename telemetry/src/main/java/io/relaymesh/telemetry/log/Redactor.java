package io.relaymesh.telemetry.log;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Defensive removal of secrets from log text: Relaymesh opaque tokens ({@code rms_}, {@code rma_},
 * {@code rmr_} + base64url), compact JWS/JWT ({@code eyJ...}), {@code Bearer} credentials,
 * {@code Authorization} header values, {@code Cookie} header values, the password of a URL's
 * user info, and the value after a secret-looking key ({@code password=}, {@code "token":},
 * {@code client_secret=}, ...). Each becomes {@value #REDACTED} (a token keeps its kind prefix:
 * {@code rms_[redacted]}).
 *
 * <p>Every log line passes here, so {@link #redact} first runs {@link #mayContainSecret}: one pass
 * over the characters that looks only at a few trigger characters ({@code _ J : =} and
 * whitespace) and allocates nothing. Only text that trips it is rewritten, with regular
 * expressions. The pre-check is a superset of the expressions: every text an expression could
 * change trips it. Stateless and thread-safe.
 */
public final class Redactor {

  public static final String REDACTED = "[redacted]";

  /** Key words whose value is a secret, at the end of a key ({@code db_password}, {@code relay-token}). */
  private static final String[] SECRET_KEY_ENDINGS = {
      "password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key",
      "ticket", "credential", "credentials", "cookie", "authorization", "private_key"};

  /** Key words that are ordinary English too: a secret only after '=' or as a quoted key. */
  private static final String[] WEAK_KEY_ENDINGS = {"token", "ticket", "credential",
      "credentials"};

  private static final String B64 = "A-Za-z0-9_-";
  /** Not inside a word: {@code platforms_linux_amd64_...} is no token. */
  private static final String START = "(?<![" + B64 + "])";
  private static final Pattern OPAQUE = Pattern.compile(START + "(rm[sar]_)[" + B64 + "]{16,}");
  private static final Pattern JWS =
      Pattern.compile(START + "eyJ[" + B64 + "]{6,}(?:\\.[" + B64 + "]+){1,4}");
  private static final Pattern BEARER =
      Pattern.compile("(?i)(\\bbearer\\s+)[A-Za-z0-9._~+/-]{6,}=*");
  private static final Pattern AUTHORIZATION = Pattern.compile("(?i)(\\b(?:proxy-)?authorization"
      + "[\"']?\\s*[:=]\\s*[\"']?(?:(?:basic|bearer|digest|token|negotiate)\\s+)?)[^\\s\"',;]{4,}");
  private static final Pattern COOKIE = Pattern.compile("(?i)(\\b(?:set-)?cookie[\"']?\\s*:\\s*)"
      + "(?!\\[redacted\\])[^\\r\\n]+");
  private static final Pattern URL_USERINFO =
      Pattern.compile("(?i)(\\b[a-z][a-z0-9+.-]*://[^/\\s:@]*:)[^/\\s@]+@");
  private static final Pattern KEY_VALUE = Pattern.compile("(?i)(\\b[A-Za-z0-9_.-]*(?:password"
      + "|passwd|passphrase|secret|token|api[_-]?key|ticket|credentials?|private_key))"
      + "([\"']?)(\\s*[:=]\\s*)(\"[^\"]*\"|'[^']*'|[^\\s\"',;&]+)");

  private Redactor() {}

  /** {@code text} with every secret it contains replaced; {@code text} itself when it has none. */
  public static String redact(String text) {
    if (text == null || !mayContainSecret(text)) {
      return text;
    }
    return redactAlways(text);
  }

  /** The expressions alone, without the pre-check (tests compare the two). */
  static String redactAlways(String text) {
    String s = OPAQUE.matcher(text).replaceAll("$1" + Matcher.quoteReplacement(REDACTED));
    s = JWS.matcher(s).replaceAll(Matcher.quoteReplacement(REDACTED));
    s = BEARER.matcher(s).replaceAll("$1" + Matcher.quoteReplacement(REDACTED));
    s = AUTHORIZATION.matcher(s).replaceAll("$1" + Matcher.quoteReplacement(REDACTED));
    s = COOKIE.matcher(s).replaceAll("$1" + Matcher.quoteReplacement(REDACTED));
    s = URL_USERINFO.matcher(s).replaceAll("$1" + Matcher.quoteReplacement(REDACTED) + "@");
    return keyValues(s);
  }

  private static String keyValues(String s) {
    Matcher m = KEY_VALUE.matcher(s);
    if (!m.find()) {
      return s;
    }
    StringBuilder out = new StringBuilder(s.length());
    int last = 0;
    do {
      String key = m.group(1).toLowerCase(Locale.ROOT);
      boolean quotedKey = !m.group(2).isEmpty();
      boolean colon = m.group(3).trim().equals(":");
      String value = m.group(4);
      boolean weak = false;
      for (String w : WEAK_KEY_ENDINGS) {
        weak |= key.endsWith(w);
      }
      if ((weak && colon && !quotedKey) || value.equals(REDACTED)
          || value.endsWith("_" + REDACTED)) {
        continue; // "invalid token: expired" is an error reason, not a secret
      }
      out.append(s, last, m.start(4));
      char q = value.charAt(0);
      out.append(q == '"' || q == '\'' ? q + REDACTED + q : REDACTED);
      last = m.end(4);
    } while (m.find());
    return out.append(s, last, s.length()).toString();
  }

  /** Whether a key (of a key-value pair or MDC entry) names a secret: its whole value is dropped. */
  public static boolean isSecretKey(String key) {
    if (key == null) {
      return false;
    }
    Boolean known = SECRET_KEYS.get(key);
    if (known == null) {
      known = secretKey(key);
      if (SECRET_KEYS.size() < 10_000) { // keys are code constants: a small set
        SECRET_KEYS.put(key, known);
      }
    }
    return known;
  }

  private static final java.util.concurrent.ConcurrentHashMap<String, Boolean> SECRET_KEYS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static boolean secretKey(String key) {
    for (String k : SECRET_KEY_ENDINGS) {
      if (key.regionMatches(true, key.length() - k.length(), k, 0, k.length())) {
        return true;
      }
    }
    return false;
  }

  /**
   * The cheap pre-check: false means {@link #redact} leaves {@code s} as it is. Looks for
   * {@code rm?_}, {@code eyJ}, {@code bearer} followed by whitespace, {@code ://...@}, and a
   * {@code :} or {@code =} after a secret-looking key.
   */
  public static boolean mayContainSecret(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '_':
          if (i >= 3 && s.charAt(i - 3) == 'r' && s.charAt(i - 2) == 'm') {
            char k = s.charAt(i - 1);
            if (k == 's' || k == 'a' || k == 'r') {
              return true;
            }
          }
          break;
        case 'J':
          if (i >= 2 && s.charAt(i - 2) == 'e' && s.charAt(i - 1) == 'y') {
            return true;
          }
          break;
        case ':':
          if (i + 2 < n && s.charAt(i + 1) == '/' && s.charAt(i + 2) == '/'
              && s.indexOf('@', i + 3) >= 0) {
            return true;
          }
          if (keyBefore(s, i)) {
            return true;
          }
          break;
        case '=':
          if (keyBefore(s, i)) {
            return true;
          }
          break;
        default:
          if (Character.isWhitespace(c) && i >= 6
              && s.regionMatches(true, i - 6, "bearer", 0, 6)) {
            return true;
          }
      }
    }
    return false;
  }

  /** Whether the word before the separator at {@code sep} (spaces and one quote skipped) ends with a secret key word. */
  private static boolean keyBefore(String s, int sep) {
    int end = sep;
    while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
      end--;
    }
    if (end > 0 && (s.charAt(end - 1) == '"' || s.charAt(end - 1) == '\'')) {
      end--;
    }
    for (String k : SECRET_KEY_ENDINGS) {
      int from = end - k.length();
      if (from >= 0 && s.regionMatches(true, from, k, 0, k.length())) {
        return true;
      }
    }
    return false;
  }
}
