package io.relaymesh.agent.tunnel;

import io.netty.channel.ConnectTimeoutException;
import io.relaymesh.agent.AgentMetrics;
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
import org.slf4j.spi.LoggingEventBuilder;

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
 * <p>One structured log line per stream open (or refusal) and per close: {@code tunnel_id},
 * {@code stream_id}, {@code kind}, {@code port}, the {@code user} / {@code connection_id} /
 * {@code client_address} from the OPEN metadata; on close {@code bytes_in}, {@code bytes_out},
 * {@code duration_ms} and {@code reason}. Counted in {@link AgentMetrics}: streams by kind
 * ({@code app} for TCP streams whose metadata names an app), local dial failures by reason, SSH
 * sessions of the built-in server.
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
  private final AgentMetrics metrics;

  /**
   * @param netClient client for local targets (TCP_NODELAY, connect timeout set by the caller)
   * @param sshServer the built-in SSH server, or null to forward SSH streams to {@code sshTarget}
   * @param sshTarget {@code host:port} for SSH streams when {@code sshServer} is null
   * @param metrics stream gauges, local dial failures, SSH sessions
   */
  public StreamAcceptor(NetClient netClient, Duration connectTimeout, AgentSshServer sshServer, String sshTarget,
      AgentMetrics metrics) {
    this.netClient = netClient;
    this.metrics = metrics;
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
    JsonObject meta = metadata(stream);
    switch (stream.kind()) {
      case WireSpec.KIND_TCP: {
        String kind = meta != null && meta.getValue("app") != null ? AgentMetrics.KIND_APP
            : AgentMetrics.KIND_TCP;
        LoopbackTarget target;
        try {
          target = LoopbackTarget.parse(stream.target());
        } catch (IllegalArgumentException e) {
          metrics.dialFailed(AgentMetrics.DIAL_NOT_ALLOWED);
          refuse(stream, tunnel, meta, kind, null, ErrorCode.UNREACHABLE, e.getMessage());
          return;
        }
        connect(stream, tunnel, meta, kind, target.host(), target.port(), target.toString());
        return;
      }
      case WireSpec.KIND_SSH:
        if (sshServer != null) {
          serveSsh(stream, tunnel, meta);
        } else {
          String shown = (sshTargetHost.indexOf(':') >= 0 ? "[" + sshTargetHost + "]" : sshTargetHost) + ":"
              + sshTargetPort;
          connect(stream, tunnel, meta, AgentMetrics.KIND_SSH, sshTargetHost, sshTargetPort, shown);
        }
        return;
      default:
        refuse(stream, tunnel, meta, "kind-" + stream.kind(), null, ErrorCode.UNSUPPORTED,
            "stream kind " + stream.kind() + " is not supported by this agent (TCP and SSH only)");
    }
  }

  private void connect(Stream stream, String tunnel, JsonObject meta, String kind, String host, int port,
      String shown) {
    long started = System.nanoTime();
    netClient.connect(port, host).onComplete(ar -> {
      if (ar.failed()) {
        Throwable e = ar.cause();
        if (e instanceof ConnectTimeoutException) {
          metrics.dialFailed(AgentMetrics.DIAL_TIMEOUT);
          refuse(stream, tunnel, meta, kind, port, ErrorCode.TIMEOUT,
              "connect to " + shown + " timed out after " + connectTimeout.toMillis() + " ms");
        } else if (e instanceof NoRouteToHostException) {
          metrics.dialFailed(AgentMetrics.DIAL_UNREACHABLE);
          refuse(stream, tunnel, meta, kind, port, ErrorCode.UNREACHABLE, "no route to " + shown);
        } else if (e instanceof ConnectException) {
          metrics.dialFailed(AgentMetrics.DIAL_REFUSED);
          refuse(stream, tunnel, meta, kind, port, ErrorCode.CONNECT_REFUSED, "connection refused on " + shown);
        } else {
          metrics.dialFailed(AgentMetrics.DIAL_UNREACHABLE);
          refuse(stream, tunnel, meta, kind, port, ErrorCode.UNREACHABLE,
              "cannot connect " + shown + ": " + e.getMessage());
        }
        return;
      }
      NetSocket socket = ar.result();
      StreamBridge.prepare(socket); // before it reads: the target's FIN is then a half-close
      socket.pause(); // a banner (or an early FIN) waits for the bridge's handler
      stream.accept().onComplete(acc -> {
        if (acc.failed()) {
          socket.close();
          event(LOG.atInfo(), "stream abandoned", tunnel, stream, kind, port)
              .addKeyValue("reason", acc.cause().getMessage()).log();
          return;
        }
        active.incrementAndGet();
        metrics.streamOpened(kind);
        who(event(LOG.atInfo(), "stream opened", tunnel, stream, kind, port), meta).log();
        StreamBridge.bridge(stream, socket).onComplete(done -> closed(stream, tunnel, kind, port, started, done));
      });
    });
  }

  private void serveSsh(Stream stream, String tunnel, JsonObject meta) {
    long started = System.nanoTime();
    String kind = AgentMetrics.KIND_SSH;
    String label = tunnel + " stream " + stream.id();
    stream.accept().onComplete(acc -> {
      if (acc.failed()) {
        event(LOG.atInfo(), "stream abandoned", tunnel, stream, kind, null)
            .addKeyValue("reason", acc.cause().getMessage()).log();
        return;
      }
      active.incrementAndGet();
      metrics.streamOpened(kind);
      metrics.sshOpened();
      who(event(LOG.atInfo(), "stream opened", tunnel, stream, kind, null), meta)
          .addKeyValue("target", "builtin-ssh").log();
      Future<Void> served;
      try {
        served = sshServer.serve(stream.session().context(), stream, stream, label);
      } catch (RuntimeException e) {
        stream.reset(ErrorCode.INTERNAL, "ssh server failed: " + e.getMessage());
        served = Future.failedFuture(e);
      }
      served.onComplete(done -> {
        metrics.sshClosed();
        closed(stream, tunnel, kind, null, started, done);
      });
    });
  }

  private void closed(Stream stream, String tunnel, String kind, Integer port, long started,
      io.vertx.core.AsyncResult<Void> done) {
    active.decrementAndGet();
    metrics.streamClosed(kind);
    event(LOG.atInfo(), "stream closed", tunnel, stream, kind, port)
        .addKeyValue("bytes_in", stream.bytesIn()).addKeyValue("bytes_out", stream.bytesOut())
        .addKeyValue("duration_ms", (System.nanoTime() - started) / 1_000_000)
        .addKeyValue("reason", done.succeeded() ? "closed" : String.valueOf(done.cause().getMessage()))
        .log();
  }

  private static void refuse(Stream stream, String tunnel, JsonObject meta, String kind, Integer port,
      ErrorCode code, String reason) {
    who(event(LOG.atInfo(), "stream refused", tunnel, stream, kind, port), meta)
        .addKeyValue("target", clean(stream.target())).addKeyValue("reason", code.name())
        .addKeyValue("detail", reason).log();
    stream.reject(code, reason);
  }

  /** The common keys of a stream log line. */
  private static LoggingEventBuilder event(LoggingEventBuilder b, String message, String tunnel, Stream stream,
      String kind, Integer port) {
    b.setMessage(message).addKeyValue("tunnel_id", tunnel).addKeyValue("stream_id", stream.id())
        .addKeyValue("kind", kind);
    if (port != null) {
      b.addKeyValue("port", port);
    }
    return b;
  }

  /** Who opened the stream, from the OPEN metadata: {@code user}, {@code connection_id}, {@code client_address}. */
  private static LoggingEventBuilder who(LoggingEventBuilder b, JsonObject meta) {
    if (meta != null) {
      addIfSet(b, "user", meta.getValue("user"));
      addIfSet(b, "connection_id", meta.getValue("connectionId"));
      addIfSet(b, "client_address", meta.getValue("clientAddress"));
      addIfSet(b, "app", meta.getValue("app"));
    }
    return b;
  }

  private static void addIfSet(LoggingEventBuilder b, String key, Object value) {
    if (value != null) {
      b.addKeyValue(key, clean(value));
    }
  }

  /** A metadata value as logged: at most 128 characters, no line breaks. */
  private static String clean(Object value) {
    String v = String.valueOf(value);
    if (v.length() > 128) {
      v = v.substring(0, 128) + "...";
    }
    return v.replaceAll("[\\r\\n]", "_");
  }

  /** The OPEN metadata as a JSON object, or null (none, or not JSON). */
  static JsonObject metadata(Stream stream) {
    if (stream.metadata() == null || stream.metadata().length() == 0) {
      return null;
    }
    try {
      return new JsonObject(stream.metadata());
    } catch (RuntimeException notJson) {
      return null;
    }
  }
}
