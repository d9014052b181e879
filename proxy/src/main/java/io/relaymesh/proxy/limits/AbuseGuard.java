package io.relaymesh.proxy.limits;

import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.SessionMetrics;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.Settings;
import io.vertx.core.buffer.Buffer;
import java.util.function.LongSupplier;

/**
 * Rate limits in front of a session's {@link FrameListener} (a decorator; it holds no session
 * state). Per session and per second:
 *
 * <ul>
 *   <li>OPENs above {@code max-open-rate} are refused ({@code OPEN_ERR LIMIT}) without reaching
 *       the session — reason {@code open-rate}; refusals themselves above that rate (a peer
 *       opening at more than twice the limit) are a connection error {@code LIMIT} — reason
 *       {@code open-flood};
 *   <li>RESETs received above {@code max-reset-rate} (rapid-reset floods,
 *       CVE-2023-44487) are a connection error {@code LIMIT} — reason {@code reset-rate};
 *   <li>PINGs above {@code max-ping-rate} are a connection error {@code LIMIT} — reason
 *       {@code ping-rate}.
 * </ul>
 *
 * <p>Threading: event-loop only, like the session it guards.
 */
public final class AbuseGuard implements FrameListener {

  /** How the guard refuses an OPEN; implemented by the session (it tracks stream ids). */
  public interface OpenRefuser {
    void refuseOpen(int streamId, ErrorCode code, String reason, String label)
        throws ProtocolException;
  }

  private final FrameListener next;
  private final OpenRefuser refuser;
  private final SessionMetrics metrics;
  private final RateLimiter opens;
  private final RateLimiter refusedOpens;
  private final RateLimiter resets;
  private final RateLimiter pings;

  public AbuseGuard(FrameListener next, OpenRefuser refuser, TunnelConfig config,
      SessionMetrics metrics, LongSupplier nanoClock) {
    this.next = next;
    this.refuser = refuser;
    this.metrics = metrics;
    this.opens = new RateLimiter(config.maxOpenRate(), nanoClock);
    this.refusedOpens = new RateLimiter(config.maxOpenRate(), nanoClock);
    this.resets = new RateLimiter(config.maxResetRate(), nanoClock);
    this.pings = new RateLimiter(config.maxPingRate(), nanoClock);
  }

  @Override
  public void onOpen(int streamId, int kind, String target, Buffer metadata)
      throws ProtocolException {
    if (!opens.tryAcquire()) {
      if (!refusedOpens.tryAcquire()) {
        // refusing costs us a frame each: a peer that keeps opening at twice the rate is a flood
        metrics.refused(Refusals.OPEN_FLOOD);
        throw new LimitException("peer keeps opening streams at more than twice the open rate");
      }
      refuser.refuseOpen(streamId, ErrorCode.LIMIT, "open rate above limit",
          Refusals.OPEN_RATE);
      return;
    }
    next.onOpen(streamId, kind, target, metadata);
  }

  @Override
  public void onReset(int streamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException {
    checkResetRate();
    next.onReset(streamId, code, rawCode, reason);
  }


  private void checkResetRate() throws ProtocolException {
    if (!resets.tryAcquire()) {
      metrics.refused(Refusals.RESET_RATE);
      throw new LimitException("peer resets streams faster than the reset rate limit");
    }
  }

  @Override
  public void onPing(long opaque) throws ProtocolException {
    if (!pings.tryAcquire()) {
      metrics.refused(Refusals.PING_RATE);
      throw new LimitException("peer pings faster than the ping rate limit");
    }
    next.onPing(opaque);
  }

  /** A connection-scoped LIMIT error whose refusal was already counted by the guard. */
  public static final class LimitException extends ProtocolException {
    LimitException(String message) {
      super(ErrorCode.LIMIT, 0, message);
    }
  }

  // ---- pass-through ------------------------------------------------------------------------

  @Override
  public void onSettings(boolean ack, Settings settings) throws ProtocolException {
    next.onSettings(ack, settings);
  }

  @Override
  public void onOpenOk(int streamId) throws ProtocolException {
    next.onOpenOk(streamId);
  }

  /** Not rate limited: the peer refusing our opens costs us nothing but our own retries. */
  @Override
  public void onOpenErr(int streamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException {
    next.onOpenErr(streamId, code, rawCode, reason);
  }

  @Override
  public void onData(int streamId, Buffer payload) throws ProtocolException {
    next.onData(streamId, payload);
  }

  @Override
  public void onWindowUpdate(int streamId, long increment) throws ProtocolException {
    next.onWindowUpdate(streamId, increment);
  }

  @Override
  public void onFin(int streamId) throws ProtocolException {
    next.onFin(streamId);
  }

  @Override
  public void onPong(long opaque) throws ProtocolException {
    next.onPong(opaque);
  }

  @Override
  public void onGoAway(int lastStreamId, ErrorCode code, long rawCode, String reason)
      throws ProtocolException {
    next.onGoAway(lastStreamId, code, rawCode, reason);
  }

  @Override
  public void onUnknownFrame(int type, int flags, int streamId, int length)
      throws ProtocolException {
    next.onUnknownFrame(type, flags, streamId, length);
  }

  @Override
  public void onStreamError(int streamId, int frameType, ErrorCode code, String reason)
      throws ProtocolException {
    next.onStreamError(streamId, frameType, code, reason);
  }
}
