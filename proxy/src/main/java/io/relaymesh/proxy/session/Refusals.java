package io.relaymesh.proxy.session;

/** The reason labels passed to {@link SessionMetrics#refused} (docs/protocol.md §9). */
public final class Refusals {
  private Refusals() {}

  public static final String FRAME_SIZE = "frame-size";
  public static final String MAX_CONCURRENT_STREAMS = "max-concurrent-streams";
  public static final String OPEN_RATE = "open-rate";
  public static final String OPEN_FLOOD = "open-flood";
  public static final String RESET_RATE = "reset-rate";
  public static final String PING_RATE = "ping-rate";
  public static final String STREAM_BUFFER = "stream-buffer";
  public static final String SESSION_BUFFER = "session-buffer";
  public static final String OPEN_SIZE = "open-size";
  public static final String OPEN_TIMEOUT = "open-timeout";
  public static final String IDLE = "idle";
  public static final String DEAD_PEER = "dead-peer";
  public static final String PROTOCOL_ERROR = "protocol-error";
  public static final String FLOW_CONTROL = "flow-control";
  public static final String GOING_AWAY = "going-away";
  public static final String CONTROL_QUEUE = "control-queue";
  public static final String STREAM_REFUSED = "stream-refused";
  /** A WebSocket frame or message above the transport's size limit (refused from its header). */
  public static final String MESSAGE_SIZE = "message-size";
  /** A bug: processing input threw; the session was closed with INTERNAL. */
  public static final String INTERNAL = "internal-error";
}
