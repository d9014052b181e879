package io.relaymesh.cli;

import java.util.concurrent.CountDownLatch;

/**
 * The one way long-running commands (server, relay, agent, dev, port-forward) stop: Ctrl-C or
 * SIGTERM runs {@code stop} in a JVM shutdown hook, and the command's thread, blocked in
 * {@link #awaitStopped()}, returns once {@code stop} has finished.
 */
final class ShutdownHook {

  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Thread thread;

  private ShutdownHook(Runnable stop) {
    this.thread = new Thread(() -> {
      try {
        stop.run();
      } finally {
        stopped.countDown();
      }
    }, "relaymesh-shutdown");
  }

  static ShutdownHook install(Runnable stop) {
    ShutdownHook h = new ShutdownHook(stop);
    Runtime.getRuntime().addShutdownHook(h.thread);
    return h;
  }

  /** For a start that failed after install: the caller stops things itself. */
  void remove() {
    Runtime.getRuntime().removeShutdownHook(thread);
  }

  void awaitStopped() throws InterruptedException {
    stopped.await();
  }
}
