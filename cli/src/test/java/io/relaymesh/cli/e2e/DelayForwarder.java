package io.relaymesh.cli.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP forwarder that delays every chunk by a fixed one-way delay in each direction, preserving
 * order: the user-space stand-in for {@code tc netem} on a kernel without {@code sch_netem}.
 *
 * <p>Listens on {@code listenHost} (port chosen by the system) and forwards each accepted
 * connection to {@code target}. Per direction, a reader thread stamps each chunk it reads with
 * {@code now + delay} into a FIFO queue and a writer thread writes each chunk once it is due (so
 * order is kept and the delay does not accumulate); end of stream is delayed the same way and
 * propagated as a half-close ({@code shutdownOutput}); a read or write error closes both sockets.
 * TCP_NODELAY on both sides. The TCP handshake itself is not delayed (the kernel completes it
 * before {@code accept}), so a {@code connect()} through the forwarder measures nothing: the
 * emulated round trip is {@code 2 x delay} (plus the real link). The queues are unbounded (no
 * back-pressure): fine for a test's small volumes.
 *
 * <p>{@link #close} closes the listener and every connection and joins every thread it started.
 */
final class DelayForwarder implements AutoCloseable {

  /** Every thread of a forwarder is named so. */
  static final String THREAD_PREFIX = "delay-forwarder-";
  private static final Object EOF = new Object();

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final long delayNanos;
  private final String name;
  private final List<Thread> threads = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private boolean closed;

  DelayForwarder(String name, String listenHost, InetSocketAddress target, int oneWayDelayMs)
      throws IOException {
    this.name = name;
    this.target = target;
    this.delayNanos = TimeUnit.MILLISECONDS.toNanos(oneWayDelayMs);
    this.server = new ServerSocket(0, 128, InetAddress.getByName(listenHost));
    spawn("accept", this::acceptLoop);
  }

  int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (true) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      if (!track(client)) {
        return;
      }
      spawn("connect", () -> connect(client));
    }
  }

  private void connect(Socket client) {
    Socket upstream = new Socket();
    if (!track(upstream)) {
      return;
    }
    try {
      client.setTcpNoDelay(true);
      upstream.setTcpNoDelay(true);
      upstream.connect(target, 5000);
    } catch (IOException e) {
      closeQuietly(client, upstream);
      return;
    }
    AtomicInteger directionsDone = new AtomicInteger();
    pipe("up", client, upstream, directionsDone);
    pipe("down", upstream, client, directionsDone);
  }

  /** One direction: a reader stamping chunks, a writer releasing them when due. */
  private void pipe(String direction, Socket from, Socket to, AtomicInteger directionsDone) {
    BlockingQueue<Object[]> queue = new LinkedBlockingQueue<>();
    spawn(direction + "-read", () -> {
      byte[] buf = new byte[64 * 1024];
      try {
        InputStream in = from.getInputStream();
        int n;
        while ((n = in.read(buf)) >= 0) {
          if (n > 0) {
            queue.add(new Object[] {Arrays.copyOf(buf, n), System.nanoTime() + delayNanos});
          }
        }
        queue.add(new Object[] {EOF, System.nanoTime() + delayNanos});
      } catch (IOException e) {
        closeQuietly(from, to); // reset or closed: the other threads end on their sockets
        queue.add(new Object[] {EOF, 0L});
      }
    });
    spawn(direction + "-write", () -> {
      try {
        OutputStream out = to.getOutputStream();
        while (true) {
          Object[] chunk = queue.take();
          long due = (Long) chunk[1];
          long wait;
          while ((wait = due - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
            if (Thread.interrupted()) {
              throw new InterruptedException();
            }
          }
          if (chunk[0] == EOF) {
            if (!to.isClosed()) {
              to.shutdownOutput();
            }
            return;
          }
          out.write((byte[]) chunk[0]);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        closeQuietly(from, to);
      } finally {
        if (directionsDone.incrementAndGet() == 2) {
          closeQuietly(from, to); // both directions half-closed (or failed): the connection is over
        }
      }
    });
  }

  private static void closeQuietly(Socket... sockets) {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  private synchronized boolean track(Socket s) {
    if (closed) {
      closeQuietly(s);
      return false;
    }
    sockets.removeIf(Socket::isClosed);
    sockets.add(s);
    return true;
  }

  private synchronized void spawn(String what, Runnable body) {
    if (closed) {
      return;
    }
    threads.removeIf(t -> !t.isAlive() && t.getState() == Thread.State.TERMINATED);
    Thread t = new Thread(body, THREAD_PREFIX + name + "-" + what);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  /** Closes the listener and every connection; waits for every thread (5 s at most). */
  @Override
  public void close() {
    List<Thread> toJoin;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        server.close();
      } catch (IOException e) {
        // closing anyway
      }
      closeQuietly(sockets.toArray(Socket[]::new));
      sockets.clear();
      toJoin = new ArrayList<>(threads);
      threads.clear();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (Thread t : toJoin) {
      t.interrupt();
      try {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
