package io.relaymesh.cli.tunnel;

import io.relaymesh.proxy.pipe.StreamBridge;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code relaymesh port-forward}: local TCP listeners whose connections each become one stream
 * (kind TCP, target {@code 127.0.0.1:<remote>}) of a shared tunnel session, bridged with
 * back-pressure both ways. A session that closes is dialed again for the next connection.
 *
 * <p>Threading: listeners and sockets live on Vert.x event loops; the session and its streams on
 * the session's context (streams hop as needed, see {@code Stream}).
 */
public final class PortForwarder {

  private static final Logger log = LoggerFactory.getLogger(PortForwarder.class);
  private static final Pattern SPEC =
      Pattern.compile("(?:(\\[[0-9a-fA-F:]+\\]|[0-9.]+|localhost):)?(\\d{1,5}):(\\d{1,5})");

  /** One {@code --tcp [BIND:]LOCAL:REMOTE} mapping. */
  public record Mapping(String bindHost, int localPort, int remotePort) {

    /** Parses {@code 8080:3000}, {@code 127.0.0.1:8080:3000} or {@code [::1]:8080:3000}. */
    public static Mapping parse(String spec) {
      Matcher m = SPEC.matcher(spec.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("--tcp " + spec
            + ": expected LOCAL:REMOTE or BIND:LOCAL:REMOTE, e.g. 8080:3000");
      }
      String bind = m.group(1) == null ? "127.0.0.1" : m.group(1).replace("[", "").replace("]", "");
      int local = Integer.parseInt(m.group(2));
      int remote = Integer.parseInt(m.group(3));
      if (local > 65535) {
        throw new IllegalArgumentException("--tcp " + spec + ": local port " + local + " is out of range 0..65535");
      }
      if (remote < 1 || remote > 65535) {
        throw new IllegalArgumentException("--tcp " + spec + ": remote port " + remote + " is out of range 1..65535");
      }
      return new Mapping(bind, local, remote);
    }
  }

  private final Vertx vertx;
  private final Supplier<Future<Session>> dial;
  private final IntFunction<Buffer> openMetadata;
  private final List<NetServer> servers = new ArrayList<>();
  private Future<Session> session; // guarded by this

  /**
   * @param dial opens a ready tunnel session (called again after a session closed)
   * @param openMetadata OPEN metadata for a stream to a remote port (e.g. a per-port ticket), or
   *     null
   */
  public PortForwarder(Vertx vertx, Supplier<Future<Session>> dial, IntFunction<Buffer> openMetadata) {
    this.vertx = vertx;
    this.dial = dial;
    this.openMetadata = openMetadata;
  }

  /** Starts one listener per mapping; completes with the bound local ports, in order. */
  public Future<List<Integer>> start(List<Mapping> mappings) {
    List<Future<Integer>> bound = new ArrayList<>();
    for (Mapping m : mappings) {
      NetServer server = vertx.createNetServer(new NetServerOptions().setHost(m.bindHost())
          .setPort(m.localPort()).setTcpNoDelay(true).setAcceptBacklog(4096));
      server.connectHandler(socket -> forward(socket, m));
      synchronized (this) {
        servers.add(server);
      }
      bound.add(server.listen().map(NetServer::actualPort).recover(e -> Future.failedFuture(
          "cannot listen on " + m.bindHost() + ":" + m.localPort() + ": " + e.getMessage())));
    }
    return Future.all(bound).map(cf -> {
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < bound.size(); i++) {
        ports.add(cf.resultAt(i));
      }
      return ports;
    });
  }

  private synchronized Future<Session> session() {
    if (session == null || (session.isComplete()
        && (session.failed() || session.result().isClosed() || session.result().isGoingAway()))) {
      session = dial.get();
    }
    return session;
  }

  private void forward(NetSocket socket, Mapping m) {
    StreamBridge.prepare(socket); // before it reads: a client's early FIN is then a half-close
    socket.pause();
    String target = "127.0.0.1:" + m.remotePort();
    session().compose(s -> {
      Buffer meta = openMetadata == null ? null : openMetadata.apply(m.remotePort());
      Future<io.relaymesh.proxy.session.Stream> opened = Future.future(p ->
          s.context().runOnContext(v -> s.open(WireSpec.KIND_TCP, target, meta).onComplete(p)));
      return opened;
    }).onSuccess(stream -> {
      StreamBridge.bridge(stream, socket);
      socket.resume();
    }).onFailure(e -> {
      log.warn("port-forward {}:{} -> {}: {}", m.bindHost(), m.localPort(), target, e.getMessage());
      socket.close();
    });
  }

  /** Stops the listeners and closes the session. */
  public Future<Void> close() {
    List<Future<Void>> all = new ArrayList<>();
    synchronized (this) {
      servers.forEach(s -> all.add(s.close()));
      if (session != null && session.succeeded()) {
        all.add(session.result().close(io.relaymesh.proxy.wire.ErrorCode.NO_ERROR, "port-forward stopped"));
      }
    }
    return Future.join(all).mapEmpty();
  }
}
