package io.relaymesh.control.auth;

/** Who made an authenticated request. */
public sealed interface Principal {

  /** A logged-in user, identified by a session token. */
  record User(long userId, String username, boolean admin, long sessionId) implements Principal {}

  /** A relay of one region, identified by a relay token. */
  record Relay(long regionId, String region, long tokenId) implements Principal {}
}
