package io.relaymesh.proxy.wire;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/** Records decoded frames as strings, for assertions. */
public class RecordingListener implements FrameListener {
  public final List<String> events = new ArrayList<>();

  @Override
  public void onSettings(boolean ack, Settings s) {
    events.add(ack ? "SETTINGS ACK" : "SETTINGS " + s.initialWindow() + " " + s.maxFrameSize()
        + " " + s.maxConcurrentStreams() + " " + s.maxOpenSize());
  }

  @Override
  public void onOpen(int id, int kind, String target, Buffer metadata) {
    events.add("OPEN " + id + " " + kind + " " + target + " " + metadata.toString());
  }

  @Override
  public void onOpenOk(int id) {
    events.add("OPEN_OK " + id);
  }

  @Override
  public void onOpenErr(int id, ErrorCode code, long raw, String reason) {
    events.add("OPEN_ERR " + id + " " + code + " " + raw + " " + reason);
  }

  @Override
  public void onData(int id, Buffer payload) {
    events.add("DATA " + id + " " + payload.toString());
  }

  @Override
  public void onWindowUpdate(int id, long inc) {
    events.add("WINDOW_UPDATE " + id + " " + inc);
  }

  @Override
  public void onFin(int id) {
    events.add("FIN " + id);
  }

  @Override
  public void onReset(int id, ErrorCode code, long raw, String reason) {
    events.add("RESET " + id + " " + code + " " + raw + " " + reason);
  }

  @Override
  public void onPing(long opaque) {
    events.add("PING " + opaque);
  }

  @Override
  public void onPong(long opaque) {
    events.add("PONG " + opaque);
  }

  @Override
  public void onGoAway(int last, ErrorCode code, long raw, String reason) {
    events.add("GOAWAY " + last + " " + code + " " + reason);
  }

  @Override
  public void onUnknownFrame(int type, int flags, int id, int length) {
    events.add("UNKNOWN " + type + " " + id + " " + length);
  }

  @Override
  public void onStreamError(int id, int type, ErrorCode code, String reason) {
    events.add("STREAM_ERROR " + id + " " + WireSpec.typeName(type) + " " + code);
  }
}
