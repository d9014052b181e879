package io.relaymesh.control.apps;

import java.util.Locale;

/** Who may open a shared app; ordered from most to least restrictive. */
public enum ShareLevel {
  /** Only the workspace owner (also what an unshared port is). */
  OWNER,
  /** Any logged-in user. */
  AUTHENTICATED,
  /** Anyone, without logging in. */
  PUBLIC;

  /** The wire/CLI name: {@code owner}, {@code authenticated}, {@code public}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a wire name; throws {@link IllegalArgumentException} listing the valid ones. */
  public static ShareLevel parse(String s) {
    for (ShareLevel l : values()) {
      if (l.wireName().equals(s)) {
        return l;
      }
    }
    throw new IllegalArgumentException("share level '" + s + "' is not one of owner,"
        + " authenticated, public");
  }

  /** Whether a share at this level lets {@code userId} in ({@code null}: not logged in). */
  public boolean allows(Long userId, long ownerId) {
    return switch (this) {
      case PUBLIC -> true;
      case AUTHENTICATED -> userId != null;
      case OWNER -> userId != null && userId == ownerId;
    };
  }
}
