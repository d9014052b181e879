package io.relaymesh.config;

import java.time.Duration;
import java.util.List;

/**
 * Limits of one tunnel session (the multiplexed WebSocket between a relay and an agent, a client
 * and a relay, or two relays); YAML section {@code tunnel}, environment prefix
 * {@code RELAYMESH_TUNNEL_}. Every field is described, with its effect when exceeded, in
 * {@code docs/protocol.md} section 9. Sizes are bytes, rates are per second per session.
 *
 * @param maxFrameSize largest frame payload accepted from the peer (advertised in SETTINGS)
 * @param initialStreamWindow receive credit granted to every new stream
 * @param maxStreamWindow cap of a stream's receive window when auto-tuned from the RTT
 * @param maxConcurrentStreams streams the peer may have open at once on this session
 * @param maxOpenRate stream opens accepted per second (burst: one second's worth)
 * @param maxResetRate resets/refusals received per second before the session is closed
 *     (rapid-reset floods, CVE-2023-44487)
 * @param maxPingRate pings received per second before the session is closed
 * @param maxBufferedPerStream bytes one stream may hold queued for sending when its writer
 *     ignores {@code writeQueueFull()} before the stream is reset
 * @param maxBufferedPerSession bound of the receive credit committed to all streams of a
 *     session (and so of the bytes it can be made to buffer)
 * @param streamWriteQueueSize per-stream outbound queue size at which {@code writeQueueFull()}
 *     turns true (back-pressure to the producer)
 * @param maxOpenSize largest OPEN payload (kind, target and metadata) accepted
 * @param openTimeout time for an opened stream to be accepted or refused
 * @param idleTimeout a session without streams for this long is closed; zero disables
 * @param keepaliveInterval interval between keepalive PINGs; zero disables
 * @param deadPeerTimeout a session that received nothing for this long is closed
 */
public record TunnelConfig(
    @Doc("largest frame payload accepted from the peer (advertised in SETTINGS)") @ByteSize int maxFrameSize,
    @Doc("receive credit granted to every new stream") @ByteSize int initialStreamWindow,
    @Doc("cap of a stream's receive window when auto-tuned from the RTT") @ByteSize int maxStreamWindow,
    @Doc("streams the peer may have open at once on one session") int maxConcurrentStreams,
    @Doc("stream opens accepted per second per session (burst: one second's worth)") int maxOpenRate,
    @Doc("resets/refusals received per second before the session is closed (CVE-2023-44487)") int maxResetRate,
    @Doc("pings received per second before the session is closed") int maxPingRate,
    @Doc("bytes one stream may queue for sending when its writer ignores back-pressure, before it is reset") @ByteSize long maxBufferedPerStream,
    @Doc("bound of the receive credit committed to all streams of a session") @ByteSize long maxBufferedPerSession,
    @Doc("per-stream outbound queue size at which writeQueueFull() turns true") @ByteSize int streamWriteQueueSize,
    @Doc("largest OPEN payload (kind, target and metadata) accepted") @ByteSize int maxOpenSize,
    @Doc("time for an opened stream to be accepted or refused") Duration openTimeout,
    @Doc("a session without streams for this long is closed; 0 disables") Duration idleTimeout,
    @Doc("interval between keepalive PINGs; 0 disables") Duration keepaliveInterval,
    @Doc("a session that received nothing for this long is closed") Duration deadPeerTimeout)
    implements ConfigSection {

  /** Smallest and largest frame payload size the protocol allows (1 KiB .. 16 MiB). */
  public static final int MIN_FRAME_SIZE = 1024;
  public static final int MAX_FRAME_SIZE_LIMIT = 16 * 1024 * 1024;
  /** Largest window the protocol allows (2^31-1). */
  public static final int MAX_WINDOW_LIMIT = Integer.MAX_VALUE;

  public static final int DEFAULT_MAX_FRAME_SIZE = 64 * 1024;
  public static final int DEFAULT_INITIAL_STREAM_WINDOW = 1024 * 1024;
  public static final int DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024;
  public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 1024;
  public static final int DEFAULT_MAX_OPEN_RATE = 2000;
  public static final int DEFAULT_MAX_RESET_RATE = 1000;
  public static final int DEFAULT_MAX_PING_RATE = 10;
  public static final long DEFAULT_MAX_BUFFERED_PER_STREAM = 32L * 1024 * 1024;
  public static final long DEFAULT_MAX_BUFFERED_PER_SESSION = 1024L * 1024 * 1024;
  public static final int DEFAULT_STREAM_WRITE_QUEUE_SIZE = 256 * 1024;
  public static final int DEFAULT_MAX_OPEN_SIZE = 16 * 1024;
  public static final Duration DEFAULT_OPEN_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ZERO;
  public static final Duration DEFAULT_KEEPALIVE_INTERVAL = Duration.ofSeconds(15);
  public static final Duration DEFAULT_DEAD_PEER_TIMEOUT = Duration.ofSeconds(45);

  public static TunnelConfig defaults() {
    return new TunnelConfig(DEFAULT_MAX_FRAME_SIZE, DEFAULT_INITIAL_STREAM_WINDOW,
        DEFAULT_MAX_STREAM_WINDOW, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_OPEN_RATE,
        DEFAULT_MAX_RESET_RATE, DEFAULT_MAX_PING_RATE, DEFAULT_MAX_BUFFERED_PER_STREAM,
        DEFAULT_MAX_BUFFERED_PER_SESSION, DEFAULT_STREAM_WRITE_QUEUE_SIZE, DEFAULT_MAX_OPEN_SIZE,
        DEFAULT_OPEN_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEPALIVE_INTERVAL,
        DEFAULT_DEAD_PEER_TIMEOUT);
  }

  public TunnelConfig withMaxFrameSize(int v) {
    return new TunnelConfig(v, initialStreamWindow, maxStreamWindow, maxConcurrentStreams,
        maxOpenRate, maxResetRate, maxPingRate, maxBufferedPerStream, maxBufferedPerSession,
        streamWriteQueueSize, maxOpenSize, openTimeout, idleTimeout, keepaliveInterval,
        deadPeerTimeout);
  }

  public TunnelConfig withWindows(int initial, int max) {
    return new TunnelConfig(maxFrameSize, initial, max, maxConcurrentStreams, maxOpenRate,
        maxResetRate, maxPingRate, maxBufferedPerStream, maxBufferedPerSession,
        streamWriteQueueSize, maxOpenSize, openTimeout, idleTimeout, keepaliveInterval,
        deadPeerTimeout);
  }

  public TunnelConfig withMaxConcurrentStreams(int v) {
    return new TunnelConfig(maxFrameSize, initialStreamWindow, maxStreamWindow, v, maxOpenRate,
        maxResetRate, maxPingRate, maxBufferedPerStream, maxBufferedPerSession,
        streamWriteQueueSize, maxOpenSize, openTimeout, idleTimeout, keepaliveInterval,
        deadPeerTimeout);
  }

  public TunnelConfig withRates(int open, int reset, int ping) {
    return new TunnelConfig(maxFrameSize, initialStreamWindow, maxStreamWindow,
        maxConcurrentStreams, open, reset, ping, maxBufferedPerStream, maxBufferedPerSession,
        streamWriteQueueSize, maxOpenSize, openTimeout, idleTimeout, keepaliveInterval,
        deadPeerTimeout);
  }

  public TunnelConfig withBuffers(long perStream, long perSession, int writeQueue) {
    return new TunnelConfig(maxFrameSize, initialStreamWindow, maxStreamWindow,
        maxConcurrentStreams, maxOpenRate, maxResetRate, maxPingRate, perStream, perSession,
        writeQueue, maxOpenSize, openTimeout, idleTimeout, keepaliveInterval, deadPeerTimeout);
  }

  public TunnelConfig withTimeouts(Duration open, Duration idle, Duration keepalive,
      Duration deadPeer) {
    return new TunnelConfig(maxFrameSize, initialStreamWindow, maxStreamWindow,
        maxConcurrentStreams, maxOpenRate, maxResetRate, maxPingRate, maxBufferedPerStream,
        maxBufferedPerSession, streamWriteQueueSize, maxOpenSize, open, idle, keepalive,
        deadPeer);
  }

  @Override
  public void validate(String path, List<String> problems) {
    if (maxFrameSize < MIN_FRAME_SIZE || maxFrameSize > MAX_FRAME_SIZE_LIMIT) {
      problems.add(ConfigSection.key(path, "max-frame-size") + ": must be between "
          + MIN_FRAME_SIZE + " and " + MAX_FRAME_SIZE_LIMIT + " bytes, got " + maxFrameSize);
    }
    if (initialStreamWindow < 1) {
      problems.add(ConfigSection.key(path, "initial-stream-window")
          + ": must be at least 1 byte, got " + initialStreamWindow);
    }
    if (maxStreamWindow < initialStreamWindow) {
      problems.add(ConfigSection.key(path, "max-stream-window") + ": must be at least "
          + "initial-stream-window (" + initialStreamWindow + "), got " + maxStreamWindow);
    }
    if (maxConcurrentStreams < 1) {
      problems.add(ConfigSection.key(path, "max-concurrent-streams")
          + ": must be at least 1, got " + maxConcurrentStreams);
    }
    positive(path, "max-open-rate", maxOpenRate, problems);
    positive(path, "max-reset-rate", maxResetRate, problems);
    positive(path, "max-ping-rate", maxPingRate, problems);
    if (streamWriteQueueSize < 1) {
      problems.add(ConfigSection.key(path, "stream-write-queue-size")
          + ": must be at least 1 byte, got " + streamWriteQueueSize);
    }
    if (maxBufferedPerStream < streamWriteQueueSize) {
      problems.add(ConfigSection.key(path, "max-buffered-per-stream") + ": must be at least "
          + "stream-write-queue-size (" + streamWriteQueueSize + "), got " + maxBufferedPerStream);
    }
    if (maxBufferedPerSession < maxStreamWindow) {
      problems.add(ConfigSection.key(path, "max-buffered-per-session") + ": must be at least "
          + "max-stream-window (" + maxStreamWindow + "), got " + maxBufferedPerSession);
    }
    if (maxOpenSize < 3 || maxOpenSize > maxFrameSize) {
      problems.add(ConfigSection.key(path, "max-open-size") + ": must be between 3 and "
          + "max-frame-size (" + maxFrameSize + ") bytes, got " + maxOpenSize);
    }
    duration(path, "open-timeout", openTimeout, false, problems);
    duration(path, "idle-timeout", idleTimeout, true, problems);
    duration(path, "keepalive-interval", keepaliveInterval, true, problems);
    duration(path, "dead-peer-timeout", deadPeerTimeout, false, problems);
    if (keepaliveInterval != null && deadPeerTimeout != null && !keepaliveInterval.isZero()
        && deadPeerTimeout.compareTo(keepaliveInterval) <= 0) {
      problems.add(ConfigSection.key(path, "dead-peer-timeout") + ": must be longer than "
          + "keepalive-interval (" + keepaliveInterval + "), got " + deadPeerTimeout);
    }
  }

  private static void positive(String path, String key, int value, List<String> problems) {
    if (value < 1) {
      problems.add(ConfigSection.key(path, key) + ": must be at least 1 per second, got " + value);
    }
  }

  private static void duration(String path, String key, Duration d, boolean zeroAllowed,
      List<String> problems) {
    if (d == null) {
      problems.add(ConfigSection.key(path, key) + ": is required");
    } else if (d.isNegative() || (!zeroAllowed && d.isZero())) {
      problems.add(ConfigSection.key(path, key) + ": must be " + (zeroAllowed ? "zero (off) or "
          : "") + "positive, got " + d);
    } else if (d.toMillis() > Duration.ofDays(1).toMillis()) {
      problems.add(ConfigSection.key(path, key) + ": must be at most 1 day, got " + d);
    }
  }
}
