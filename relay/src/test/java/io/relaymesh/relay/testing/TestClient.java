package io.relaymesh.relay.testing;

import io.relaymesh.proxy.testutil.Await;
import io.relaymesh.config.TunnelConfig;
import io.relaymesh.proxy.session.CountingSessionMetrics;
import io.relaymesh.proxy.session.Role;
import io.relaymesh.proxy.session.Session;
import io.relaymesh.proxy.session.Stream;
import io.relaymesh.proxy.transport.WebSocketTransport;
import io.relaymesh.proxy.wire.ErrorCode;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;

/** A client session (like {@code relaymesh ssh --stdio}) on the relay's client endpoint. */
public final class TestClient {

  public final Session session;
  private final WebSocketClient ws;

  private TestClient(Session session, WebSocketClient ws) {
    this.session = session;
    this.ws = ws;
  }

  /** Connects with {@code ticket}; fails like the upgrade fails. */
  public static Future<TestClient> connect(Vertx vertx, int port, String caPem, String ticket) {
    WebSocketClient ws = vertx.createWebSocketClient(TestAgent.trusting(caPem));
    Context ctx = vertx.getOrCreateContext();
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setSsl(true).setURI("/api/v1/tunnel/client").addSubProtocol(WireSpec.SUBPROTOCOL);
    if (ticket != null) {
      o.putHeader("Authorization", "Bearer " + ticket);
    }
    return Await.on(ctx, () -> ws.connect(o).compose(socket -> {
      Session s = Session.create(ctx, WebSocketTransport.of(socket), Role.CLIENT,
          TunnelConfig.defaults(), new CountingSessionMetrics());
      return s.ready().map(x -> new TestClient(s, ws));
    })).onFailure(e -> ws.close());
  }

  /** Opens a TCP stream to {@code 127.0.0.1:port}. */
  public Future<Stream> openTcp(int port) {
    return session.open(WireSpec.KIND_TCP, "127.0.0.1:" + port, Buffer.buffer());
  }

  /**
   * Writes {@code data} on a fresh TCP stream to {@code port}, ends it and collects everything the
   * other side sends until its end.
   */
  public Future<Buffer> exchange(int port, byte[] data) {
    return openTcp(port).compose(stream -> {
      Promise<Buffer> got = Promise.promise();
      Buffer received = Buffer.buffer(data.length);
      stream.handler(received::appendBuffer);
      stream.endHandler(v -> got.tryComplete(received));
      stream.exceptionHandler(got::tryFail);
      int chunk = 16 * 1024;
      Promise<Void> written = Promise.promise();
      writeFrom(stream, data, 0, chunk, written);
      return written.future().compose(v -> got.future());
    });
  }

  /**
   * Writes {@code data} on a fresh TCP stream to {@code port} (an echo) and collects the echo;
   * ends the stream only once everything came back, then waits for the end. ({@link #exchange}
   * ends right after writing, which races the agent's half-close against the echo's last bytes:
   * with a few MiB the tail can be lost, also on the direct path.)
   */
  public Future<Buffer> echoed(int port, byte[] data) {
    return openTcp(port).compose(stream -> {
      Promise<Buffer> got = Promise.promise();
      Buffer received = Buffer.buffer(data.length);
      stream.exceptionHandler(got::tryFail);
      stream.endHandler(v -> got.tryComplete(received));
      stream.handler(b -> {
        received.appendBuffer(b);
        if (received.length() >= data.length) {
          stream.end();
        }
      });
      writeAll(stream, data, 0);
      return got.future();
    });
  }

  private static void writeAll(Stream s, byte[] data, int offset) {
    int off = offset;
    while (off < data.length) {
      int n = Math.min(16 * 1024, data.length - off);
      s.write(Buffer.buffer(java.util.Arrays.copyOfRange(data, off, off + n)));
      off += n;
      if (s.writeQueueFull()) {
        int next = off;
        s.drainHandler(v -> writeAll(s, data, next));
        return;
      }
    }
  }

  private static void writeFrom(Stream s, byte[] data, int offset, int chunk, Promise<Void> done) {
    int off = offset;
    while (off < data.length) {
      int n = Math.min(chunk, data.length - off);
      s.write(Buffer.buffer(java.util.Arrays.copyOfRange(data, off, off + n)));
      off += n;
      if (s.writeQueueFull()) {
        int next = off;
        s.drainHandler(v -> writeFrom(s, data, next, chunk, done));
        return;
      }
    }
    s.end();
    done.tryComplete();
  }

  public void close() {
    if (!session.isClosed()) {
      Await.await(session.close(ErrorCode.NO_ERROR, "test client done"));
    }
    ws.close();
  }
}
