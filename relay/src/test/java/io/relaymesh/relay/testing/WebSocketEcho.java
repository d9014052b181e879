package io.relaymesh.relay.testing;

import static io.relaymesh.proxy.testutil.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

/** Drives a WebSocket to an echo app: a text and a large binary message, then a clean close. */
public final class WebSocketEcho {
  private WebSocketEcho() {}

  /**
   * Sends {@code "ping"} and {@code size} random bytes (seeded), asserts both come back in order
   * and intact within {@code wait}, then closes and waits for the close to complete.
   */
  public static void assertEchoesAndCloses(WebSocket ws, int size, long seed, Duration wait) {
    List<Buffer> got = new CopyOnWriteArrayList<>();
    ws.handler(got::add);
    byte[] data = new byte[size];
    new Random(seed).nextBytes(data);
    ws.writeTextMessage("ping");
    ws.writeBinaryMessage(Buffer.buffer(data));
    Waits.until("echoes", wait,
        () -> got.stream().mapToInt(Buffer::length).sum() >= 4 + data.length);
    Buffer all = Buffer.buffer();
    got.forEach(all::appendBuffer);
    assertThat(all.getString(0, 4)).isEqualTo("ping");
    assertThat(all.getBytes(4, all.length())).isEqualTo(data);
    Promise<Void> closed = Promise.promise();
    ws.closeHandler(v -> closed.tryComplete());
    ws.close();
    await(closed.future(), 20);
  }
}
