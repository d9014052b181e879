package io.relaymesh.cli.tunnel;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connects a tunnel stream to a process's standard input and output (the {@code ssh --stdio}
 * ProxyCommand form), with back-pressure both ways and no blocking call on the event loop: one
 * thread reads stdin and hands each chunk to the stream's context, waiting for the stream's
 * write queue to drain when it is full; one thread writes to stdout from a queue bounded in
 * bytes, pausing the stream while the queue is above its high-water mark.
 *
 * <p>stdin EOF half-closes the stream (FIN); the returned future completes when the stream's
 * inbound side has ended and every byte of it is written and flushed to stdout, and fails when
 * the stream is reset or stdout fails.
 */
public final class StdioPipe {

  static final int CHUNK = 64 * 1024;
  static final long HIGH_WATER = 1024 * 1024;
  static final long LOW_WATER = 256 * 1024;
  /** Many tiny buffers pause the stream too, whatever their byte count. */
  static final int MAX_BUFFERS = 4096;

  private StdioPipe() {}

  public static Future<Void> start(Context context, ReadStream<Buffer> from,
      WriteStream<Buffer> to, InputStream in, OutputStream out) {
    Promise<Void> done = Promise.promise();
    OutputWriter writer = new OutputWriter(context, from, out, done);
    context.runOnContext(v -> {
      from.exceptionHandler(done::tryFail);
      from.endHandler(e -> writer.finish());
      from.handler(writer::offer);
      writer.start();
      startReader(context, to, in, done);
    });
    return done.future();
  }

  private static void startReader(Context context, WriteStream<Buffer> to, InputStream in,
      Promise<Void> done) {
    Thread t = new Thread(() -> {
      byte[] chunk = new byte[CHUNK];
      Semaphore ready = new Semaphore(0);
      try {
        while (!done.future().isComplete()) {
          int n = in.read(chunk);
          if (done.future().isComplete()) {
            return; // the pipe ended (tunnel lost, Vert.x closing) while this thread was reading
          }
          if (n < 0) {
            post(context, v -> to.end());
            return;
          }
          Buffer b = Buffer.buffer(n).appendBytes(chunk, 0, n);
          boolean posted = post(context, v -> {
            to.write(b);
            if (to.writeQueueFull()) {
              to.drainHandler(x -> {
                to.drainHandler(null); // one permit per wait, never a stray one later
                ready.release();
              });
            } else {
              ready.release();
            }
          });
          if (!posted) {
            return;
          }
          ready.acquire();
        }
      } catch (IOException e) {
        post(context, v -> done.tryFail(new IOException("reading stdin: " + e.getMessage(), e)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "relaymesh-stdin");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Runs {@code task} on {@code context}; false when its event loop has terminated (the tunnel was
   * lost and Vert.x closed while the stdin thread was blocked in a read): then there is nothing
   * left to write to, and the thread ends quietly instead of dying with a stack trace on the
   * ssh client's stderr.
   */
  private static boolean post(Context context, io.vertx.core.Handler<Void> task) {
    try {
      context.runOnContext(task);
      return true;
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return false;
    }
  }

  /** A write queue to a blocking OutputStream, drained by its own thread. */
  private static final class OutputWriter {
    private static final Buffer EOF = Buffer.buffer();
    private final Context context;
    private final OutputStream out;
    private final Promise<Void> done;
    // bounded by the pause thresholds below (bytes and buffer count), never by add() failing
    private final BlockingQueue<Buffer> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final ReadStream<Buffer> source;
    private boolean paused; // context only

    OutputWriter(Context context, ReadStream<Buffer> source, OutputStream out, Promise<Void> done) {
      this.context = context;
      this.source = source;
      this.out = out;
      this.done = done;
    }

    /** On the context: queue a buffer; returns after pausing the source above high water. */
    void offer(Buffer b) {
      if (b.length() == 0) {
        return;
      }
      queue.add(b);
      if ((queued.addAndGet(b.length()) > HIGH_WATER || queue.size() > MAX_BUFFERS) && !paused) {
        paused = true;
        source.pause();
      }
    }

    void finish() {
      queue.add(EOF);
    }

    void start() {
      Thread t = new Thread(this::run, "relaymesh-stdout");
      t.setDaemon(true);
      t.start();
    }

    private void run() {
      try {
        while (true) {
          Buffer b = queue.take();
          if (b == EOF) {
            out.flush();
            context.runOnContext(v -> done.tryComplete());
            return;
          }
          out.write(b.getBytes());
          if (queue.isEmpty()) {
            out.flush();
          }
          long left = queued.addAndGet(-b.length());
          if (left < LOW_WATER && queue.size() < MAX_BUFFERS / 4) {
            context.runOnContext(v -> {
              if (paused && queued.get() < LOW_WATER && queue.size() < MAX_BUFFERS / 4) {
                paused = false;
                source.resume();
              }
            });
          }
        }
      } catch (IOException e) {
        context.runOnContext(v -> done.tryFail(new IOException("writing stdout: " + e.getMessage(), e)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
