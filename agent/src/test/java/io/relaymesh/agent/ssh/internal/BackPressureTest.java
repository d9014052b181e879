package io.relaymesh.agent.ssh.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.util.Readable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Bounded buffering in both directions between a Vert.x stream and MINA. */
@Timeout(60)
public class BackPressureTest {
    private final Vertx vertx = Vertx.vertx();
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void close() throws Exception {
        executor.shutdownNow();
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void writesCompleteOnlyWhenTheStreamHasRoomAndStayInOrder() throws Exception {
        Context ctx = vertx.getOrCreateContext();
        FakeWriteStream out = new FakeWriteStream();
        VertxStreamTransport t = new VertxStreamTransport(ctx, new FakeReadStream(), out, Promise.promise());
        List<Integer> done = new CopyOnWriteArrayList<>();
        CountDownLatch firstTwo = new CountDownLatch(2);
        out.full = false;
        t.write(new byte[] {1}, e -> { done.add(1); firstTwo.countDown(); });
        t.write(new byte[] {2}, e -> { done.add(2); firstTwo.countDown(); });
        assertThat(firstTwo.await(10, TimeUnit.SECONDS)).isTrue();

        // the queue fills with write 3: 3 and everything behind it wait for drain
        CountDownLatch queued = new CountDownLatch(1);
        ctx.runOnContext(v -> { out.full = true; queued.countDown(); });
        queued.await();
        t.write(new byte[] {3}, e -> done.add(3));
        t.write(new byte[] {4}, e -> done.add(4));
        awaitOnContext(ctx);
        assertThat(done).containsExactly(1, 2);
        assertThat(out.written).containsExactly((byte) 1, (byte) 2, (byte) 3);

        ctx.runOnContext(v -> out.drain());
        awaitOnContext(ctx);
        awaitOnContext(ctx);
        assertThat(done).containsExactly(1, 2, 3, 4);
        assertThat(out.written).containsExactly((byte) 1, (byte) 2, (byte) 3, (byte) 4);
    }

    @Test
    void inputIsPausedWhileMinaHasTooMuchQueuedAndResumedWhenItCatchesUp() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger received = new AtomicInteger();
        IoHandler slowHandler = new IoHandler() {
            @Override
            public void sessionCreated(IoSession session) {
            }

            @Override
            public void sessionClosed(IoSession session) {
            }

            @Override
            public void exceptionCaught(IoSession session, Throwable cause) {
            }

            @Override
            public void messageReceived(IoSession session, Readable message) throws Exception {
                release.await();
                received.addAndGet(message.available());
            }
        };
        RecordingTransport transport = new RecordingTransport();
        TunnelIoService service = new TunnelIoService(slowHandler, executor);
        TunnelIoSession session = service.open(transport, "test");
        byte[] chunk = new byte[64 * 1024];
        int chunks = 0;
        while (transport.suspensions.isEmpty()) {
            transport.receiver.onData(chunk);
            chunks++;
        }
        assertThat(chunks).isGreaterThan(TunnelIoSession.INPUT_HIGH_WATER / chunk.length);
        assertThat(transport.suspensions).containsExactly(true);

        release.countDown();
        int total = chunks * chunk.length;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((received.get() < total || transport.suspensions.size() < 2) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(received.get()).isEqualTo(total);
        assertThat(transport.suspensions).containsExactly(true, false);
        session.close(true);
    }

    private static void awaitOnContext(Context ctx) throws InterruptedException {
        CountDownLatch l = new CountDownLatch(1);
        ctx.runOnContext(v -> l.countDown());
        assertThat(l.await(10, TimeUnit.SECONDS)).isTrue();
    }

    static final class RecordingTransport implements ByteTransport {
        volatile Receiver receiver;
        final List<Boolean> suspensions = new CopyOnWriteArrayList<>();

        @Override
        public void start(Receiver r) {
            receiver = r;
        }

        @Override
        public void write(byte[] data, Consumer<Throwable> done) {
            done.accept(null);
        }

        @Override
        public void setInputSuspended(boolean suspended) {
            suspensions.add(suspended);
        }

        @Override
        public void shutdownOutput() {
        }

        @Override
        public void close() {
        }
    }

    /** A write stream whose fullness the test controls. Context-only. */
    public static final class FakeWriteStream implements WriteStream<Buffer> {
        final List<Byte> written = new ArrayList<>();
        boolean full;
        Handler<Void> drainHandler;

        void drain() {
            full = false;
            Handler<Void> h = drainHandler;
            if (h != null) {
                h.handle(null);
            }
        }

        @Override
        public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
            return this;
        }

        @Override
        public Future<Void> write(Buffer data) {
            for (byte b : data.getBytes()) {
                written.add(b);
            }
            return Future.succeededFuture();
        }

        @Override
        public Future<Void> end() {
            return Future.succeededFuture();
        }

        @Override
        public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
            return this;
        }

        @Override
        public boolean writeQueueFull() {
            return full;
        }

        @Override
        public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
            drainHandler = handler;
            return this;
        }
    }

    public static final class FakeReadStream implements ReadStream<Buffer> {
        @Override
        public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
            return this;
        }

        @Override
        public ReadStream<Buffer> handler(Handler<Buffer> handler) {
            return this;
        }

        @Override
        public ReadStream<Buffer> pause() {
            return this;
        }

        @Override
        public ReadStream<Buffer> resume() {
            return this;
        }

        @Override
        public ReadStream<Buffer> fetch(long amount) {
            return this;
        }

        @Override
        public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
            return this;
        }
    }
}
