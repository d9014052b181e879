package io.relaymesh.control.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Opaque bearer tokens: a kind prefix plus base64url of 256 random bits. Only their SHA-256
 * digest is stored; a fast hash is right for secrets with this much entropy. Tokens are never
 * logged and never echoed in errors.
 */
public final class Tokens {

  private static final SecureRandom RANDOM = new SecureRandom();
  public static final int RANDOM_BYTES = 32;

  private Tokens() {}

  public static String generate(TokenKind kind) {
    byte[] b = new byte[RANDOM_BYTES];
    RANDOM.nextBytes(b);
    return kind.prefix() + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** SHA-256 of the whole token (prefix included). */
  public static byte[] hash(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /** Constant-time comparison of two digests. */
  public static boolean sameHash(byte[] a, byte[] b) {
    return a != null && b != null && MessageDigest.isEqual(a, b);
  }

  /** Whether {@code token} looks like one of ours of this kind (prefix and length). */
  public static boolean wellFormed(String token, TokenKind kind) {
    return token != null && token.startsWith(kind.prefix())
        && token.length() == kind.prefix().length() + 43
        && token.substring(kind.prefix().length()).matches("[A-Za-z0-9_-]+");
  }
}
