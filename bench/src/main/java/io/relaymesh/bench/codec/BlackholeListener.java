package io.relaymesh.bench.codec;

import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.FrameListener;
import io.relaymesh.proxy.wire.Settings;
import io.vertx.core.buffer.Buffer;
import org.openjdk.jmh.infra.Blackhole;

/** Consumes every callback argument so nothing is dead-code eliminated. */
final class BlackholeListener implements FrameListener {
  private final Blackhole bh;

  BlackholeListener(Blackhole bh) {
    this.bh = bh;
  }

  @Override
  public void onSettings(boolean ack, Settings settings) {
    bh.consume(settings);
  }

  @Override
  public void onOpen(int streamId, int kind, String target, Buffer metadata) {
    bh.consume(streamId);
    bh.consume(target);
    bh.consume(metadata);
  }

  @Override
  public void onOpenOk(int streamId) {
    bh.consume(streamId);
  }

  @Override
  public void onOpenErr(int streamId, ErrorCode code, long rawCode, String reason) {
    bh.consume(reason);
  }

  @Override
  public void onData(int streamId, Buffer payload) {
    bh.consume(streamId);
    bh.consume(payload);
  }

  @Override
  public void onWindowUpdate(int streamId, long increment) {
    bh.consume(streamId);
    bh.consume(increment);
  }

  @Override
  public void onFin(int streamId) {
    bh.consume(streamId);
  }

  @Override
  public void onReset(int streamId, ErrorCode code, long rawCode, String reason) {
    bh.consume(reason);
  }

  @Override
  public void onPing(long opaque) {
    bh.consume(opaque);
  }

  @Override
  public void onPong(long opaque) {
    bh.consume(opaque);
  }

  @Override
  public void onGoAway(int lastStreamId, ErrorCode code, long rawCode, String reason) {
    bh.consume(reason);
  }

  @Override
  public void onStreamError(int streamId, int frameType, ErrorCode code, String reason) {
    throw new IllegalStateException("unexpected stream error: " + reason);
  }
}
