package io.relaymesh.config;

import java.util.List;

/**
 * PLACEHOLDER so that the config module compiles on its own; the proxy engineer owns this file
 * and their version (session limits, windows, timeouts) replaces this one at merge.
 *
 * @param maxFrameSize largest frame payload accepted on a tunnel
 */
public record TunnelConfig(
    @Doc("largest frame payload accepted on a tunnel") @ByteSize int maxFrameSize)
    implements ConfigSection {

  public static final int DEFAULT_MAX_FRAME_SIZE = 64 * 1024;

  public static TunnelConfig defaults() {
    return new TunnelConfig(DEFAULT_MAX_FRAME_SIZE);
  }

  @Override
  public void validate(String path, List<String> problems) {
    Checks.range(problems, path, "max-frame-size", maxFrameSize, 1024, 16 * 1024 * 1024);
  }
}
