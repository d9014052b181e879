package io.relaymesh.proxy.wire;

/**
 * The values of one SETTINGS frame (docs §4). Settings absent from a frame take the value the
 * receiver already knows; {@code -1} marks "not present" here.
 *
 * @param initialWindow SETTING_INITIAL_WINDOW or -1
 * @param maxFrameSize SETTING_MAX_FRAME_SIZE or -1
 * @param maxConcurrentStreams SETTING_MAX_CONCURRENT_STREAMS or -1
 * @param maxOpenSize SETTING_MAX_OPEN_SIZE or -1
 */
public record Settings(long initialWindow, long maxFrameSize, long maxConcurrentStreams,
    long maxOpenSize) {

  public static final Settings EMPTY = new Settings(-1, -1, -1, -1);

  /** Value of this setting if present, else {@code fallback}. */
  public static long or(long value, long fallback) {
    return value < 0 ? fallback : value;
  }
}
