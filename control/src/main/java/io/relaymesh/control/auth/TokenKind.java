package io.relaymesh.control.auth;

/** The kinds of opaque bearer tokens; the prefix makes a token recognisable and unmistakable. */
public enum TokenKind {
  SESSION("rms_"),
  AGENT("rma_"),
  RELAY("rmr_");

  private final String prefix;

  TokenKind(String prefix) {
    this.prefix = prefix;
  }

  public String prefix() {
    return prefix;
  }

  /** The kind of {@code token} by its prefix, or {@code null} when it has none of ours. */
  public static TokenKind of(String token) {
    if (token == null) {
      return null;
    }
    for (TokenKind k : values()) {
      if (token.startsWith(k.prefix)) {
        return k;
      }
    }
    return null;
  }
}
