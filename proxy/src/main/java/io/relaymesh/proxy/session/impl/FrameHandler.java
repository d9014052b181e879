package io.relaymesh.proxy.session.impl;

import io.relaymesh.proxy.limits.AbuseGuard;
import io.relaymesh.proxy.session.Refusals;
import io.relaymesh.proxy.session.StreamRefusedException;
import io.relaymesh.proxy.session.StreamResetException;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.FrameWriter;
import io.relaymesh.proxy.wire.ProtocolException;
import io.relaymesh.proxy.wire.Settings;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;

/**
 * What each received frame does to the session (docs/protocol.md §4–§8): the listener between
 * the stateless {@code FrameReader} (behind the {@link AbuseGuard}) and the session state in
 * {@link SessionImpl}/{@link StreamImpl}. Stream-scoped violations reset the stream here;
 * connection-scoped ones are thrown as {@link ProtocolException} and end the session.
 *
 * <p>Threading: event-loop only (the session's context).
 */
final class FrameHandler implements FrameListener, AbuseGuard.OpenRefuser {
  private final SessionImpl session;

  FrameHandler(SessionImpl session) {
    this.session = session;
  }

  static String label(ErrorCode code) {
    switch (code) {
      case FRAME_SIZE_ERROR: return Refusals.FRAME_SIZE;
      case FLOW_CONTROL_ERROR: return Refusals.FLOW_CONTROL;
      default: return Refusals.PROTOCOL_ERROR;
    }
  }

  private void requireSettings() throws ProtocolException {
    if (!session.settingsReceived) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "first frame from the peer must be SETTINGS");
    }
  }

  private void checkNewPeerId(int streamId) throws ProtocolException {
    if (session.role().opens(streamId)) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "peer opened stream " + streamId + " with this side's id parity");
    }
    if (streamId <= session.highestPeerId) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR, "peer opened stream "
          + streamId + " after " + session.highestPeerId + " (ids must increase)");
    }
    session.highestPeerId = streamId;
  }

  /** The stream for a frame, or null for a closed one; never-opened ids are a connection error. */
  private StreamImpl stream(int streamId, String frame) throws ProtocolException {
    requireSettings();
    StreamImpl s = session.streams.get(streamId);
    if (s != null) {
      return s;
    }
    boolean known = session.role().opens(streamId)
        ? session.nextLocalId < 0 || streamId < session.nextLocalId
        : streamId <= session.highestPeerId;
    if (!known) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          frame + " for stream " + streamId + " that was never opened");
    }
    return null; // closed: ignore
  }

  private void streamError(StreamImpl s, ErrorCode code, String reason, String label) {
    session.metrics().refused(label);
    session.control(FrameWriter.reset(Buffer.buffer(), s.id(), code.value(), reason));
    s.terminate(new StreamResetException(code, reason, false), true);
  }

  // ---- session frames ----------------------------------------------------------------------

  @Override
  public void onSettings(boolean ack, Settings s) throws ProtocolException {
    if (ack) {
      session.settingsAcked = true;
      return;
    }
    if (session.settingsReceived) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR, "second SETTINGS");
    }
    session.peerSettings(s);
  }

  @Override
  public void onPing(long opaque) throws ProtocolException {
    requireSettings();
    session.control(FrameWriter.pong(Buffer.buffer(18), opaque));
  }

  @Override
  public void onPong(long opaque) throws ProtocolException {
    requireSettings();
    session.liveness.pong(opaque, session.metrics());
  }

  @Override
  public void onGoAway(int lastStreamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    requireSettings();
    session.goAwayReceived = true;
    session.metrics().goAway(false, code);
    for (StreamImpl s : new ArrayList<>(session.streams.values())) {
      if (s.isLocal() && s.id() > lastStreamId) {
        s.terminate(new StreamRefusedException(ErrorCode.REFUSED, ErrorCode.REFUSED.value(),
            "peer is going away (" + code + " " + reason + "); stream not processed", true), true);
      }
    }
    session.admitWaiting(); // opens waiting for a slot are refused as going away now
  }

  @Override
  public void onUnknownFrame(int type, int flags, int streamId, int length)
      throws ProtocolException {
    requireSettings(); // skipped
  }

  // ---- opening -----------------------------------------------------------------------------

  @Override
  public void refuseOpen(int streamId, ErrorCode code, String reason, String label)
      throws ProtocolException {
    requireSettings();
    checkNewPeerId(streamId);
    session.metrics().refused(label);
    session.control(FrameWriter.openErr(Buffer.buffer(), streamId, code.value(), reason));
  }

  @Override
  public void onOpen(int streamId, int kind, String target, Buffer metadata)
      throws ProtocolException {
    requireSettings();
    int maxStreams = session.config().maxConcurrentStreams();
    if (session.goAwaySent) {
      refuseOpen(streamId, ErrorCode.GOING_AWAY, "session is going away", Refusals.GOING_AWAY);
    } else if (session.peerCount >= maxStreams) {
      refuseOpen(streamId, ErrorCode.LIMIT, "at most " + maxStreams + " concurrent streams",
          Refusals.MAX_CONCURRENT_STREAMS);
    } else if (session.committed + session.config().initialStreamWindow()
        > session.config().maxBufferedPerSession()) {
      refuseOpen(streamId, ErrorCode.LIMIT, "session receive budget in use",
          Refusals.SESSION_BUFFER);
    } else if (session.openHandler == null) {
      refuseOpen(streamId, ErrorCode.UNSUPPORTED, "this side accepts no streams",
          Refusals.STREAM_REFUSED);
    } else {
      checkNewPeerId(streamId);
      session.addPeerStream(streamId, kind, target, metadata);
    }
  }

  @Override
  public void onOpenOk(int streamId) throws ProtocolException {
    StreamImpl s = stream(streamId, "OPEN_OK");
    if (s == null) {
      return;
    }
    if (!s.isLocal() || s.state != StreamImpl.State.OPENING) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "OPEN_OK for stream " + streamId + " in state " + s.state);
    }
    s.opened();
  }

  @Override
  public void onOpenErr(int streamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    StreamImpl s = stream(streamId, "OPEN_ERR");
    if (s == null) {
      return;
    }
    if (!s.isLocal() || s.state != StreamImpl.State.OPENING) {
      throw ProtocolException.connection(ErrorCode.PROTOCOL_ERROR,
          "OPEN_ERR for stream " + streamId + " in state " + s.state);
    }
    s.terminate(new StreamRefusedException(code, raw, reason, true), true);
  }

  // ---- stream frames -----------------------------------------------------------------------

  @Override
  public void onData(int streamId, Buffer payload) throws ProtocolException {
    StreamImpl s = stream(streamId, "DATA");
    session.metrics().bytesIn(s == null ? -1 : s.kind(), payload.length());
    if (s == null) {
      return;
    }
    if (s.state == StreamImpl.State.OPENING) {
      streamError(s, ErrorCode.PROTOCOL_ERROR, "DATA before OPEN_OK", Refusals.PROTOCOL_ERROR);
    } else if (s.remoteFinished()) {
      streamError(s, ErrorCode.STREAM_CLOSED, "DATA after FIN", Refusals.PROTOCOL_ERROR);
    } else if (!s.rx.admits(payload.length())) {
      streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "DATA of " + payload.length()
          + " bytes exceeds the granted credit of " + s.rx.credit(), Refusals.FLOW_CONTROL);
    } else {
      s.received(payload);
    }
  }

  @Override
  public void onWindowUpdate(int streamId, long increment) throws ProtocolException {
    StreamImpl s = stream(streamId, "WINDOW_UPDATE");
    if (s != null && !s.credit(increment)) {
      streamError(s, ErrorCode.FLOW_CONTROL_ERROR, "send window above 2^31-1",
          Refusals.FLOW_CONTROL);
    }
  }

  @Override
  public void onFin(int streamId) throws ProtocolException {
    StreamImpl s = stream(streamId, "FIN");
    if (s == null) {
      return;
    }
    if (s.state == StreamImpl.State.OPENING) {
      streamError(s, ErrorCode.PROTOCOL_ERROR, "FIN before OPEN_OK", Refusals.PROTOCOL_ERROR);
    } else if (!s.remoteFinished()) {
      s.remoteFin();
    }
  }

  @Override
  public void onReset(int streamId, ErrorCode code, long raw, String reason)
      throws ProtocolException {
    StreamImpl s = stream(streamId, "RESET");
    if (s != null) {
      StreamResetException e = s.state == StreamImpl.State.OPENING
          ? new StreamRefusedException(code, raw, reason, true)
          : new StreamResetException(code, raw, reason, true);
      s.terminate(e, true);
    }
  }

  @Override
  public void onStreamError(int streamId, int frameType, ErrorCode code, String reason)
      throws ProtocolException {
    if (frameType == WireSpec.TYPE_OPEN) {
      refuseOpen(streamId, code, reason,
          code == ErrorCode.LIMIT ? Refusals.OPEN_SIZE : label(code));
      return;
    }
    StreamImpl s = stream(streamId, WireSpec.typeName(frameType));
    if (s != null) {
      streamError(s, code, reason, label(code));
    }
  }
}
