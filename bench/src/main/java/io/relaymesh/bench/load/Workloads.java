package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The loopback workloads, each against an echo {@link Duplex.Dialer}. Every workload checks the
 * bytes it gets back (length and content), so a fast but wrong transport fails instead of
 * scoring. All methods run on the caller's Vert.x context (event loop).
 */
public final class Workloads {

  /**
   * Most bytes a producer writes in one event-loop turn. Needed because a Vert.x TLS
   * {@code NetSocket} written from its own event loop does not report {@code writeQueueFull()}
   * until the turn ends (the bytes sit in the SSL handler until the flush), so a plain
   * "write while not full" loop never ends there.
   */
  static final long MAX_PER_TURN = 1L << 20;

  private Workloads() {}

  /** Result of a bulk run: bytes echoed back and the time it took. */
  public record Bulk(long bytes, long nanos) {
    public double megabytesPerSecond() {
      return bytes / 1e6 / (nanos / 1e9);
    }
  }

  /** Result of a request/response run: sorted round-trip times in nanoseconds. */
  public record RoundTrips(long[] sortedNanos, long wallNanos) {
    public double perSecond() {
      return sortedNanos.length / (wallNanos / 1e9);
    }

    public long percentileNanos(double p) {
      int i = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
      return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, i))];
    }
  }

  /**
   * One stream: writes {@code total} bytes in {@code chunk}-sized buffers honouring
   * back-pressure, while reading the echo; done when every byte came back. Measures the
   * stream's throughput with both directions busy.
   */
  public static Future<Bulk> bulk(Duplex.Dialer dialer, long total, int chunk) {
    return dialer.dial().compose(d -> bulkOn(d, total, chunk));
  }

  private static Future<Bulk> bulkOn(Duplex d, long total, int chunk) {
    {
      Promise<Bulk> done = Promise.promise();
      byte[] pattern = new byte[chunk];
      for (int i = 0; i < chunk; i++) {
        pattern[i] = (byte) (i * 31 + 7);
      }
      Buffer block = Buffer.buffer(pattern);
      long start = System.nanoTime();
      long[] received = {0};
      d.in().exceptionHandler(done::tryFail);
      d.in().handler(b -> {
        // spot-check content: every chunk-aligned position must hold the pattern
        for (int i = 0; i < b.length(); i += 4093) {
          long pos = received[0] + i;
          if (b.getByte(i) != pattern[(int) (pos % chunk)]) {
            done.tryFail("echo mismatch at byte " + pos);
            return;
          }
        }
        received[0] += b.length();
        if (received[0] == total) {
          done.tryComplete(new Bulk(total, System.nanoTime() - start));
        } else if (received[0] > total) {
          done.tryFail("echoed more bytes than sent: " + received[0] + " > " + total);
        }
      });
      d.in().endHandler(v -> done.tryFail("stream ended after " + received[0] + " of " + total + " bytes"));
      new Object() {
        long sent;

        void pump() {
          long turn = 0;
          while (sent < total && !d.out().writeQueueFull() && turn < MAX_PER_TURN) {
            int n = (int) Math.min(chunk, total - sent);
            d.out().write(n == chunk ? block : block.slice(0, n));
            sent += n;
            turn += n;
          }
          if (sent < total) {
            if (d.out().writeQueueFull()) {
              d.out().drainHandler(v -> pump());
            } else {
              Vertx.currentContext().runOnContext(v -> pump()); // let the event loop flush
            }
          }
        }
      }.pump();
      return done.future().eventually(d::close);
    }
  }

  /**
   * One stream: {@code count} sequential round trips of {@code size} bytes (request written,
   * response fully read, then the next), after {@code warmup} unmeasured ones.
   */
  public static Future<RoundTrips> roundTrips(Duplex.Dialer dialer, int warmup, int count, int size) {
    return dialer.dial().compose(d -> {
      Promise<RoundTrips> done = Promise.promise();
      long[] samples = new long[count];
      Buffer request = Buffer.buffer(new byte[size]);
      for (int i = 0; i < size; i++) {
        request.setByte(i, (byte) i);
      }
      int[] n = {0};
      int[] got = {0};
      long[] t0 = {0, 0};
      d.in().exceptionHandler(done::tryFail);
      d.in().endHandler(v -> done.tryFail("stream ended after " + n[0] + " round trips"));
      d.in().handler(b -> {
        got[0] += b.length();
        if (got[0] < size) {
          return;
        }
        if (got[0] > size) {
          done.tryFail("response longer than request: " + got[0] + " > " + size);
          return;
        }
        long now = System.nanoTime();
        int i = n[0]++ - warmup;
        if (i >= 0) {
          samples[i] = now - t0[0];
        }
        if (i == 0) {
          t0[1] = t0[0];
        }
        if (i + 1 == count) {
          long wall = now - t0[1];
          Arrays.sort(samples);
          done.tryComplete(new RoundTrips(samples, wall));
          return;
        }
        got[0] = 0;
        t0[0] = System.nanoTime();
        d.out().write(request);
      });
      t0[0] = System.nanoTime();
      d.out().write(request);
      return done.future().eventually(d::close);
    });
  }

  /** Result of a fan-out: time to open every stream, then the echo of all of them. */
  public record FanOut(int streams, long openNanos, Bulk transfer) {}

  /**
   * Opens {@code streams} streams at once (timed: "open" phase), then echoes {@code perStream}
   * bytes on every one concurrently (timed: aggregate throughput) and checks every stream got all
   * its bytes back.
   */
  public static Future<FanOut> fanOut(Duplex.Dialer dialer, int streams, int perStream, int chunk) {
    long start = System.nanoTime();
    List<Future<Duplex>> dials = new ArrayList<>(streams);
    for (int i = 0; i < streams; i++) {
      dials.add(dialer.dial());
    }
    return Future.all(dials).compose(cf -> {
      long opened = System.nanoTime();
      List<Future<Bulk>> all = new ArrayList<>(streams);
      for (int i = 0; i < streams; i++) {
        all.add(echo(cf.resultAt(i), perStream, chunk));
      }
      return Future.all(all).map(x -> new FanOut(streams, opened - start,
          new Bulk((long) streams * perStream, System.nanoTime() - opened)));
    });
  }

  /** Result of {@link #roundTripsUnderLoad}: the round trips and the bulk stream's throughput. */
  public record UnderLoad(RoundTrips roundTrips, Bulk bulk) {}

  /**
   * Head-of-line test: one stream echoes bulk data without pause (chunks of 64 KiB) while a
   * second stream of the same dialer (for the tunnel: the same WebSocket; for TCP: a second
   * connection) does {@code count} sequential round trips of {@code size} bytes. The round trips
   * start once the bulk stream has echoed {@code rampBytes} (windows grown, queues full).
   */
  public static Future<UnderLoad> roundTripsUnderLoad(Duplex.Dialer dialer, int warmup, int count,
      int size, long rampBytes) {
    return dialer.dial().compose(d -> {
      int chunk = 64 << 10;
      Buffer block = Buffer.buffer(new byte[chunk]);
      boolean[] stop = {false};
      long[] received = {0, 0, 0}; // total, at start of round trips, time at start
      Promise<Void> ramped = Promise.promise();
      Promise<Void> failed = Promise.promise();
      d.in().exceptionHandler(failed::tryFail);
      d.in().handler(b -> {
        received[0] += b.length();
        if (received[0] >= rampBytes) {
          ramped.tryComplete();
        }
      });
      new Object() {
        void pump() {
          long turn = 0;
          while (!stop[0] && !d.out().writeQueueFull() && turn < MAX_PER_TURN) {
            d.out().write(block);
            turn += chunk;
          }
          if (!stop[0]) {
            if (d.out().writeQueueFull()) {
              d.out().drainHandler(v -> pump());
            } else {
              Vertx.currentContext().runOnContext(v -> pump()); // let the event loop flush
            }
          }
        }
      }.pump();
      Future<UnderLoad> result = Future.any(ramped.future(), failed.future()).compose(v -> {
        if (failed.future().failed()) {
          return Future.failedFuture(failed.future().cause());
        }
        received[1] = received[0];
        received[2] = System.nanoTime();
        return roundTrips(dialer, warmup, count, size).map(rt -> {
          stop[0] = true;
          return new UnderLoad(rt, new Bulk(received[0] - received[1], System.nanoTime() - received[2]));
        });
      });
      return result.eventually(() -> {
        stop[0] = true;
        return d.close();
      });
    });
  }

  /** {@link #bulk} on an already open duplex. */
  static Future<Bulk> echo(Duplex d, long total, int chunk) {
    return bulkOn(d, total, chunk);
  }
}
