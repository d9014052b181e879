package io.relaymesh.bench.load;

import java.util.List;

/** The transports compared against the TCP baseline. */
final class Transports {

  private Transports() {}

  static List<LoadMain.Transport> extra() {
    return List.of();
  }
}
