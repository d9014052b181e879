package io.relaymesh.control.store;

import io.vertx.core.Future;

/**
 * One-time handoff codes of the browser app flow (docs/apps.md): random, stored as SHA-256
 * digests, valid 60 s, single use, bound to one app label and one session.
 * SKELETON: the control-api helper implements it (issue 5).
 */
public final class HandoffStore {

  /** A consumed code: whose session it carried. */
  public record Handoff(long sessionId, long userId, String app) {}

  private final Db db;

  public HandoffStore(Db db) {
    this.db = db;
  }

  /** Creates a code for {@code app} on behalf of session {@code sessionId}; returns the code. */
  public Future<String> create(long sessionId, long userId, String app) {
    throw new UnsupportedOperationException("HandoffStore.create: being built");
  }

  /**
   * Consumes {@code code} for {@code app}: the handoff, or {@code null} when the code is
   * unknown, used, expired or for another app (it is then used up as well).
   */
  public Future<Handoff> consume(String code, String app) {
    throw new UnsupportedOperationException("HandoffStore.consume: being built");
  }
}
