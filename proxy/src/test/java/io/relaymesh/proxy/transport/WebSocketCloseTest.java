package io.relaymesh.proxy.transport;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.relaymesh.proxy.wire.WireSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Closing a tunnel WebSocket whose peer never reads, over real TLS: our close frame waits behind
 * everything queued for the peer, so {@link WebSocketTransport#close} drops the connection after
 * {@link WebSocketTransport#CLOSE_TIMEOUT_MS}. After that the server's Vert.x must still close
 * and no Vert.x closing timer may go off later: Vert.x arms it when the close frame's write fails
 * after the channel is gone, and it then closes with a promise that is already done ("promise
 * already done", seen in CI before a relay's Vert.x did not finish closing).
 */
class WebSocketCloseTest {

  @Test
  @Timeout(120)
  void aPeerThatNeverReadsIsDroppedAndVertxStillCloses() throws Exception {
    Vertx vertx = Vertx.vertx();
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    List<SSLSocket> peers = new ArrayList<>();
    boolean vertxClosed = false;
    Logger promises = (Logger) LoggerFactory.getLogger("io.netty.util.concurrent.DefaultPromise");
    ListAppender<ILoggingEvent> netty = new ListAppender<>();
    netty.start();
    promises.addAppender(netty);
    try {
      int n = 4;
      List<Promise<Void>> closed = new ArrayList<>();
      List<Promise<WebSocketTransport>> opened = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        closed.add(Promise.promise());
        opened.add(Promise.promise());
      }
      int[] next = {0};
      HttpServer server = vertx.createHttpServer(new HttpServerOptions()
          .setSsl(true).setKeyCertOptions(cert.keyCertOptions())
          .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL));
      server.webSocketHandler(ws -> {
        int i = next[0]++;
        WebSocketTransport t = WebSocketTransport.negotiated(ws);
        t.closeHandler(v -> closed.get(i).tryComplete());
        // on the WebSocket's context, as a session does
        fill(vertx, t).onComplete(x -> opened.get(i).complete(t));
      });
      int port = server.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS).actualPort();
      for (int i = 0; i < n; i++) {
        peers.add(upgradeAndStopReading(port));
        // filled the socket, TLS and Vert.x's queue, then closed: the close frame waits
        opened.get(i).future().await(20, TimeUnit.SECONDS);
      }
      for (int i = 0; i < n; i++) {
        closed.get(i).future().await(30, TimeUnit.SECONDS);
      }
      // Vert.x's closing timer (10 s for a server by default) would fire here; it must not
      Thread.sleep(TimeUnit.SECONDS.toMillis(HttpServerOptions.DEFAULT_WEBSOCKET_CLOSING_TIMEOUT)
          + 1500);
      assertThat(netty.list).as("warnings from Netty promises after the drops")
          .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
      CompletableFuture<Void> done = vertx.close().toCompletionStage().toCompletableFuture();
      done.get(30, TimeUnit.SECONDS);
      vertxClosed = true;
    } finally {
      for (SSLSocket s : peers) {
        s.close();
      }
      if (!vertxClosed) {
        vertx.close();
      }
      promises.detachAppender(netty);
      cert.delete();
    }
  }

  /**
   * A peer that is slow to read (its socket and TLS buffers are full when the close comes, but
   * Vert.x's own queue is not) still gets the close frame with its status once it reads.
   */
  @Test
  @Timeout(60)
  void aPeerThatReadsLateGetsTheCloseFrame() throws Exception {
    Vertx vertx = Vertx.vertx();
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    SSLSocket peer = null;
    try {
      HttpServer server = vertx.createHttpServer(new HttpServerOptions()
          .setSsl(true).setKeyCertOptions(cert.keyCertOptions())
          .addWebSocketSubProtocol(WireSpec.SUBPROTOCOL));
      Promise<Boolean> writableAtClose = Promise.promise();
      server.webSocketHandler(ws -> {
        WebSocketTransport t = WebSocketTransport.negotiated(ws);
        t.send(Buffer.buffer(new byte[8 << 20])); // one message, far more than the buffers take
        writableAtClose.complete(
            ((io.vertx.core.internal.http.WebSocketInternal) ws).channelHandlerContext()
                .channel().isWritable());
        t.close(1000, "done");
      });
      int port = server.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS).actualPort();
      peer = upgradeAndStopReading(port);
      assertThat(writableAtClose.future().await(10, TimeUnit.SECONDS))
          .as("the channel took no more bytes when the close came").isFalse();
      Thread.sleep(1000); // reads late, well within the close timeout
      java.io.DataInputStream in = new java.io.DataInputStream(peer.getInputStream());
      long data = 0;
      Integer closeStatus = null;
      while (closeStatus == null) {
        int b0;
        try {
          b0 = in.readUnsignedByte();
        } catch (java.io.EOFException e) {
          break;
        }
        int b1 = in.readUnsignedByte();
        long len = b1 & 0x7f;
        if (len == 126) {
          len = in.readUnsignedShort();
        } else if (len == 127) {
          len = in.readLong();
        }
        if ((b0 & 0x0f) == 0x8) {
          closeStatus = in.readUnsignedShort();
          in.skipNBytes(len - 2);
        } else {
          in.skipNBytes(len);
          data += len;
        }
      }
      assertThat(data).as("message bytes before the close").isEqualTo(8 << 20);
      assertThat(closeStatus).as("close frame (status) after the message").isEqualTo(1000);
    } finally {
      if (peer != null) {
        peer.close();
      }
      vertx.close().await(30, TimeUnit.SECONDS);
      cert.delete();
    }
  }

  /** Writes until the transport's write queue is full and more, then closes it, on its context. */
  private static Future<Void> fill(Vertx vertx, WebSocketTransport t) {
    Promise<Void> p = Promise.promise();
    vertx.setPeriodic(5, id -> {
      Buffer chunk = Buffer.buffer(new byte[16 * 1024]);
      for (int k = 0; k < 16; k++) {
        t.send(chunk);
      }
      if (t.writeQueueFull()) {
        for (int k = 0; k < 64; k++) {
          t.send(chunk); // past the mark: these stay in Vert.x's own queue
        }
        vertx.cancelTimer(id);
        t.close(1000, "test done");
        p.tryComplete();
      }
    });
    return p.future();
  }

  private static SSLSocket upgradeAndStopReading(int port) throws Exception {
    SSLContext ssl = io.relaymesh.proxy.testutil.TrustAll.context();
    SSLSocket s = (SSLSocket) ssl.getSocketFactory().createSocket();
    s.setReceiveBufferSize(4096);
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    s.getOutputStream().write(("GET /tunnel HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " + WireSpec.SUBPROTOCOL
        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("upgrade answer").isNotEqualTo(-1);
      head.write(b);
    }
    assertThat(head.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 101");
    return s; // and never read again
  }
}
