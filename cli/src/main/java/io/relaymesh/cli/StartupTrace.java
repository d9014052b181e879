package io.relaymesh.cli;

/**
 * With {@code RELAYMESH_TRACE_STARTUP} set, prints on stderr how many milliseconds after the JVM
 * started each step of a client command was reached ({@code relaymesh trace: 812 ms ticket}), to
 * see where the start of {@code ssh --stdio} goes. Off: one boolean test per step.
 */
final class StartupTrace {

  private static final boolean ON = System.getenv("RELAYMESH_TRACE_STARTUP") != null;

  private StartupTrace() {}

  static void mark(String step) {
    if (ON) {
      long ms = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
      System.err.println("relaymesh trace: " + ms + " ms " + step);
    }
  }
}
