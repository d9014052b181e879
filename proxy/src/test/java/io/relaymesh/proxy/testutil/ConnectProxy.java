package io.relaymesh.proxy.testutil;

import static io.relaymesh.proxy.testutil.Await.await;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Test-only HTTP CONNECT proxy (RFC 9110 §9.3.6) on 127.0.0.1 port 0: reads the request head,
 * records the CONNECT authority, dials it and splices both sockets. Anything but CONNECT gets 405.
 */
public final class ConnectProxy implements AutoCloseable {
  /** The CONNECT targets seen, in order. */
  public final List<String> connects = new CopyOnWriteArrayList<>();
  private final NetServer server;

  public ConnectProxy(Vertx vertx) {
    server = vertx.createNetServer().connectHandler(client -> {
      Buffer head = Buffer.buffer();
      client.handler(b -> {
        head.appendBuffer(b);
        String text = head.toString(StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
          return;
        }
        client.pause();
        client.handler(null);
        String[] requestLine = text.substring(0, text.indexOf("\r\n")).split(" ");
        if (requestLine.length != 3 || !requestLine[0].equals("CONNECT")) {
          client.write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n").onComplete(x -> client.close());
          return;
        }
        String authority = requestLine[1];
        connects.add(authority);
        int colon = authority.lastIndexOf(':');
        String host = authority.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(authority.substring(colon + 1));
        Buffer early = head.getBuffer(end + 4, head.length());
        vertx.createNetClient().connect(port, host).onComplete(ar -> {
          if (ar.failed()) {
            client.write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").onComplete(x -> client.close());
            return;
          }
          NetSocket upstream = ar.result();
          client.write("HTTP/1.1 200 Connection established\r\n\r\n");
          if (early.length() > 0) {
            upstream.write(early);
          }
          splice(client, upstream);
          splice(upstream, client);
          client.resume();
        });
      });
    });
    await(server.listen(0, "127.0.0.1"));
  }

  private static void splice(NetSocket from, NetSocket to) {
    from.handler(b -> {
      to.write(b);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    });
    from.closeHandler(v -> to.close());
  }

  public int port() {
    return server.actualPort();
  }

  @Override
  public void close() {
    await(server.close());
  }
}
