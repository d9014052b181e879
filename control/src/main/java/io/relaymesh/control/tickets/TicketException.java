package io.relaymesh.control.tickets;

/** A ticket that must be rejected, with the reason. Never contains the ticket itself. */
public final class TicketException extends Exception {

  /** Why a ticket was rejected. */
  public enum Reason {
    MALFORMED,
    UNSUPPORTED_ALGORITHM,
    UNKNOWN_KEY,
    BAD_SIGNATURE,
    EXPIRED,
    NOT_YET_VALID,
    WRONG_AUDIENCE,
    KEYS_UNAVAILABLE
  }

  private final Reason reason;

  public TicketException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public TicketException(Reason reason, String message, Throwable cause) {
    super(message, cause, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
