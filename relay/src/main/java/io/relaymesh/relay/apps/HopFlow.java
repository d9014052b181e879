package io.relaymesh.relay.apps;

import io.vertx.core.Context;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Back-pressure for bytes handed from a producer on one context (e.g. the browser request on its
 * event loop) to a sink on another (e.g. the tunnel stream on the agent tunnel's event loop).
 * The producer is paused while the sink's write queue is full <em>or</em> too many bytes are
 * still on their way through the hop (tasks queued on the sink's context), and resumed once the
 * sink drained and the bytes in flight fell below half of that bound — so neither a slow sink
 * nor a busy event loop lets a body pile up in memory.
 *
 * <p>Threading: {@link #sent} and {@link #update} on the producer's context; {@link #written}
 * and {@link #drained} on the sink's context.
 */
final class HopFlow {

  /** Bytes allowed in flight through the hop before the producer pauses. */
  static final long HIGH = 256 * 1024;
  static final long LOW = HIGH / 2;

  private final Context producer;
  private final Runnable pause;
  private final Runnable resume;
  private final AtomicLong inFlight = new AtomicLong();
  private volatile boolean sinkFull;
  private volatile boolean paused; // written on the producer's context only
  private volatile boolean stopped;

  HopFlow(Context producer, Runnable pause, Runnable resume) {
    this.producer = producer;
    this.pause = pause;
    this.resume = resume;
  }

  /** Producer side: {@code n} bytes were handed to the sink's context. */
  void sent(long n) {
    inFlight.addAndGet(n);
    update();
  }

  /** Sink side: {@code n} bytes were written to the sink, whose queue is now {@code full}. */
  void written(long n, boolean full) {
    long left = inFlight.addAndGet(-n);
    sinkFull = full;
    if (full ? !paused : paused && left <= LOW) {
      producer.runOnContext(v -> update());
    }
  }

  /** Sink side: the sink's queue drained. */
  void drained() {
    sinkFull = false;
    if (paused) {
      producer.runOnContext(v -> update());
    }
  }

  /** No more pausing or resuming (the exchange is over; whoever owns the producer decides). */
  void stop() {
    stopped = true;
  }

  /** Producer side: pauses or resumes the producer as the state says. */
  void update() {
    if (stopped) {
      return;
    }
    long n = inFlight.get();
    if (!paused && (sinkFull || n > HIGH)) {
      paused = true;
      pause.run();
    } else if (paused && !sinkFull && n <= LOW) {
      paused = false;
      resume.run();
    }
  }
}
