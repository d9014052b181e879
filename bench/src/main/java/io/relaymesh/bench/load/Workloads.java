package io.relaymesh.bench.load;

import io.vertx.core.Future;
import io.vertx.core.Promise;
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
    return dialer.dial().compose(d -> {
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
          while (sent < total && !d.out().writeQueueFull()) {
            int n = (int) Math.min(chunk, total - sent);
            d.out().write(n == chunk ? block : block.slice(0, n));
            sent += n;
          }
          if (sent < total) {
            d.out().drainHandler(v -> pump());
          }
        }
      }.pump();
      return done.future().eventually(d::close);
    });
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

  /**
   * {@code streams} concurrent streams, each echoing {@code perStream} bytes; measures the
   * aggregate throughput and checks every stream got all its bytes back.
   */
  public static Future<Bulk> fanOut(Duplex.Dialer dialer, int streams, int perStream, int chunk) {
    long start = System.nanoTime();
    List<Future<Bulk>> all = new ArrayList<>(streams);
    for (int i = 0; i < streams; i++) {
      all.add(bulk(dialer, perStream, chunk));
    }
    return Future.all(all).map(cf -> new Bulk((long) streams * perStream, System.nanoTime() - start));
  }
}
