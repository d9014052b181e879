package io.relaymesh.agent.tunnel;

import io.netty.channel.ConnectTimeoutException;
import io.relaymesh.agent.ssh.AgentSshServer;
import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the streams a relay opens on an agent tunnel (contract: {@code tunnel-endpoints.md}):
 *
 * <ul>
 *   <li>{@code TCP}: the target must be {@code 127.0.0.1:<port>} or {@code [::1]:<port>}
 *       ({@link LoopbackTarget}), anything else is refused with {@code UNREACHABLE} and the reason;
 *       the agent connects it (TCP_NODELAY, {@code target-connect-timeout}) and answers OPEN_OK only
 *       once connected, else OPEN_ERR {@code CONNECT_REFUSED} ({@code connection refused on
 *       127.0.0.1:5432}), {@code TIMEOUT} or {@code UNREACHABLE}; then pipes both ways with
 *       back-pressure ({@link StreamBridge});
 *   <li>{@code SSH}: served by the built-in {@link AgentSshServer}, or connected like TCP to the
 *       configured {@code ssh-target} (any host the operator configured);
 *   <li>other kinds: {@code UNSUPPORTED}.
 * </ul>
 *
 * <p>One log line per stream open (or refusal) and per close, with the session label, stream id,
 * the user/connection from the OPEN metadata, bytes and duration.
 *
 * <p>Threading: {@link #handle} runs on the session's event loop; the local socket is connected
 * from it, so stream and socket share the loop.
 */
public final class StreamAcceptor {
  private static final Logger LOG = LoggerFactory.getLogger(StreamAcceptor.class);

  private final NetClient netClient;
  private final Duration connectTimeout;
  private final AgentSshServer sshServer; // null: sshTarget
  private final String sshTargetHost;
  private final int sshTargetPort;
  private final AtomicInteger active = new AtomicInteger();

  /**
   * @param netClient client for local targets (TCP_NODELAY, connect timeout set by the caller)
   * @param sshServer the built-in SSH server, or null to forward SSH streams to {@code sshTarget}
   * @param sshTarget {@code host:port} for SSH streams when {@code sshServer} is null
   */
  public StreamAcceptor(NetClient netClient, Duration connectTimeout, AgentSshServer sshServer, String sshTarget) {
    this.netClient = netClient;
    this.connectTimeout = connectTimeout;
    this.sshServer = sshServer;
    if (sshServer == null) {
      int colon = sshTarget.lastIndexOf(':');
      String h = sshTarget.substring(0, colon);
      this.sshTargetHost = h.startsWith("[") ? h.substring(1, h.length() - 1) : h;
      this.sshTargetPort = Integer.parseInt(sshTarget.substring(colon + 1));
    } else {
      this.sshTargetHost = null;
      this.sshTargetPort = 0;
    }
  }

  /** Streams being served now (all tunnels). */
  public int activeStreams() {
    return active.get();
  }

  /** Handles one OPEN from the relay; {@code tunnel} names the tunnel in logs. */
  public void handle(String tunnel, Stream stream) {
    String label = tunnel + " stream " + stream.id();
    String who = describeMetadata(stream);
    switch (stream.kind()) {
      case WireSpec.KIND_TCP: {
        LoopbackTarget target;
        try {
          target = LoopbackTarget.parse(stream.target());
        } catch (IllegalArgumentException e) {
          refuse(stream, label, who, "tcp", ErrorCode.UNREACHABLE, e.getMessage());
          return;
        }
        connect(stream, label, who, "tcp", target.host(), target.port(), target.toString());
        return;
      }
      case WireSpec.KIND_SSH:
        if (sshServer != null) {
          serveSsh(stream, label, who);
        } else {
          String shown = (sshTargetHost.indexOf(':') >= 0 ? "[" + sshTargetHost + "]" : sshTargetHost) + ":"
              + sshTargetPort;
          connect(stream, label, who, "ssh", sshTargetHost, sshTargetPort, shown);
        }
        return;
      default:
        refuse(stream, label, who, "kind " + stream.kind(), ErrorCode.UNSUPPORTED,
            "stream kind " + stream.kind() + " is not supported by this agent (TCP and SSH only)");
    }
  }

  private void connect(Stream stream, String label, String who, String kind, String host, int port, String shown) {
    long started = System.nanoTime();
    netClient.connect(port, host).onComplete(ar -> {
      if (ar.failed()) {
        Throwable e = ar.cause();
        if (e instanceof ConnectTimeoutException) {
          refuse(stream, label, who, kind, ErrorCode.TIMEOUT,
              "connect to " + shown + " timed out after " + connectTimeout.toMillis() + " ms");
        } else if (e instanceof NoRouteToHostException) {
          refuse(stream, label, who, kind, ErrorCode.UNREACHABLE, "no route to " + shown);
        } else if (e instanceof ConnectException) {
          refuse(stream, label, who, kind, ErrorCode.CONNECT_REFUSED, "connection refused on " + shown);
        } else {
          refuse(stream, label, who, kind, ErrorCode.UNREACHABLE, "cannot connect " + shown + ": " + e.getMessage());
        }
        return;
      }
      NetSocket socket = ar.result();
      stream.accept().onComplete(acc -> {
        if (acc.failed()) {
          socket.close();
          LOG.info("{} {} {} abandoned by the relay before it was accepted: {}", label, kind, shown,
              acc.cause().getMessage());
          return;
        }
        active.incrementAndGet();
        LOG.info("{} {} {} opened{}", label, kind, shown, who);
        StreamBridge.bridge(stream, socket).onComplete(done -> closed(stream, label, kind, shown, started, done));
      });
    });
  }

  private void serveSsh(Stream stream, String label, String who) {
    long started = System.nanoTime();
    stream.accept().onComplete(acc -> {
      if (acc.failed()) {
        LOG.info("{} ssh abandoned by the relay before it was accepted: {}", label, acc.cause().getMessage());
        return;
      }
      active.incrementAndGet();
      LOG.info("{} ssh (built-in server) opened{}", label, who);
      Future<Void> served;
      try {
        served = sshServer.serve(stream.session().context(), stream, stream, label);
      } catch (RuntimeException e) {
        stream.reset(ErrorCode.INTERNAL, "ssh server failed: " + e.getMessage());
        served = Future.failedFuture(e);
      }
      served.onComplete(done -> closed(stream, label, "ssh", "built-in server", started, done));
    });
  }

  private void closed(Stream stream, String label, String kind, String target, long started,
      io.vertx.core.AsyncResult<Void> done) {
    active.decrementAndGet();
    LOG.info("{} {} {} closed after {} ms: {} B in, {} B out{}", label, kind, target,
        (System.nanoTime() - started) / 1_000_000, stream.bytesIn(), stream.bytesOut(),
        done.succeeded() ? "" : " (" + done.cause().getMessage() + ")");
  }

  private static void refuse(Stream stream, String label, String who, String kind, ErrorCode code, String reason) {
    LOG.info("{} {} '{}' refused: {} {}{}", label, kind, stream.target(), code, reason, who);
    stream.reject(code, reason);
  }

  /** {@code " (user alice, connection c-1, from 203.0.113.5)"} from the OPEN metadata, if any. */
  static String describeMetadata(Stream stream) {
    if (stream.metadata() == null || stream.metadata().length() == 0) {
      return "";
    }
    try {
      JsonObject m = new JsonObject(stream.metadata());
      StringBuilder sb = new StringBuilder();
      append(sb, "user", m.getValue("user"));
      append(sb, "connection", m.getValue("connectionId"));
      append(sb, "from", m.getValue("clientAddress"));
      return sb.length() == 0 ? "" : " (" + sb + ")";
    } catch (RuntimeException notJson) {
      return "";
    }
  }

  private static void append(StringBuilder sb, String name, Object value) {
    if (value == null) {
      return;
    }
    String v = String.valueOf(value);
    if (v.length() > 128) {
      v = v.substring(0, 128) + "...";
    }
    if (sb.length() > 0) {
      sb.append(", ");
    }
    sb.append(name).append(' ').append(v.replaceAll("[\\r\\n]", "_"));
  }
}
