package io.relaymesh.relay.tunnel;

import io.relaymesh.control.tickets.TicketClaims;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The per-stream tickets one client session has had verified, so that a burst of opens with the
 * same ticket (a {@code port-forward} sends its port's ticket in every OPEN) costs one ES256
 * verification on a worker instead of one per stream. Concurrent opens with a ticket whose
 * verification is still running share it. A verified ticket is reused only until its expiry
 * plus the verifier's clock skew (the only check of the verification that depends on time, once
 * signature, key, audience and issue time passed); a failed verification is not kept.
 *
 * <p>Threading: the client session's context only. Bounded to {@link #MAX_ENTRIES} tickets.
 */
final class VerifiedTickets {
  static final int MAX_ENTRIES = 32;

  private final Duration skew;
  private final Map<String, Future<TicketClaims>> byTicket =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Future<TicketClaims>> eldest) {
          return size() > MAX_ENTRIES;
        }
      };

  VerifiedTickets(Duration skew) {
    this.skew = skew;
  }

  /**
   * The claims of {@code ticket}: the cached verification while it is pending or still valid at
   * {@code now}, else a new one from {@code verify} (cached once it succeeds).
   */
  Future<TicketClaims> verify(String ticket, Instant now,
      Function<String, Future<TicketClaims>> verify) {
    Future<TicketClaims> known = byTicket.get(ticket);
    if (known != null && (!known.isComplete()
        || (known.succeeded() && !now.isAfter(known.result().expiresAt().plus(skew))))) {
      return known;
    }
    Future<TicketClaims> fresh = verify.apply(ticket);
    byTicket.put(ticket, fresh);
    fresh.onFailure(e -> byTicket.remove(ticket, fresh));
    return fresh;
  }

  int size() {
    return byTicket.size();
  }
}
