package io.relaymesh.agent.ssh.internal;

import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * {@link ByteTransport} over a Vert.x {@link ReadStream}/{@link WriteStream} pair (a tunnel
 * stream, or a socket in tests).
 *
 * <p>Threading: the streams are touched only on {@code context} (event-loop only); calls from
 * MINA threads are queued and run there with {@link Context#runOnContext}. Nothing here blocks.
 *
 * <p>Back-pressure: a write is reported done only while the write stream's queue is not full;
 * when it fills, the write that filled it completes (and the queue behind it drains) only after
 * the stream's drain handler fires.
 */
public final class VertxStreamTransport implements ByteTransport {
    private final Context context;
    private final ReadStream<Buffer> in;
    private final WriteStream<Buffer> out;
    private final Promise<Void> closed;

    private final Queue<Op> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();

    // context-only state
    private final Queue<Op> afterDrain = new ArrayDeque<>();
    private boolean waitingForDrain;
    private boolean outputEnded;
    private boolean isClosed;

    /**
     * @param closed completed (on the context) once the transport has been closed
     */
    public VertxStreamTransport(Context context, ReadStream<Buffer> in, WriteStream<Buffer> out,
            Promise<Void> closed) {
        this.context = context;
        this.in = in;
        this.out = out;
        this.closed = closed;
    }

    @Override
    public void start(Receiver receiver) {
        Runnable install = () -> {
            in.handler(buf -> {
                if (!isClosed) {
                    receiver.onData(buf.getBytes());
                }
            });
            in.endHandler(v -> {
                if (!isClosed) {
                    receiver.onEnd();
                }
            });
            in.exceptionHandler(receiver::onError);
            out.exceptionHandler(receiver::onError);
        };
        if (io.vertx.core.Vertx.currentContext() == context) {
            install.run(); // before the stream can emit anything
        } else {
            context.runOnContext(v -> install.run());
        }
    }

    @Override
    public void write(byte[] data, Consumer<Throwable> done) {
        outbound.add(new Op(data, done));
        scheduleFlush();
    }

    @Override
    public void shutdownOutput() {
        outbound.add(new Op(null, null));
        scheduleFlush();
    }

    @Override
    public void setInputSuspended(boolean suspended) {
        onContext(() -> {
            if (isClosed) {
                return;
            }
            if (suspended) {
                in.pause();
            } else {
                in.resume();
            }
        });
    }

    @Override
    public void close() {
        onContext(() -> {
            if (isClosed) {
                return;
            }
            flush(); // whatever was accepted before the close still goes out, in order
            isClosed = true;
            failAll(afterDrain);
            failAll(outbound);
            in.handler(null);
            if (!outputEnded) {
                outputEnded = true;
                out.end();
            }
            closed.tryComplete();
        });
    }

    private void scheduleFlush() {
        if (flushScheduled.compareAndSet(false, true)) {
            onContext(() -> {
                flushScheduled.set(false);
                flush();
            });
        }
    }

    /** Context-only. */
    private void flush() {
        Op op;
        while ((op = outbound.poll()) != null) {
            afterDrain.add(op);
        }
        while (!waitingForDrain && (op = afterDrain.poll()) != null) {
            if (isClosed || outputEnded) {
                fail(op);
                continue;
            }
            if (op.data == null) {
                outputEnded = true;
                out.end();
                continue;
            }
            out.write(Buffer.buffer(op.data));
            if (out.writeQueueFull()) {
                waitingForDrain = true;
                Op blocked = op;
                out.drainHandler(v -> {
                    out.drainHandler(null);
                    waitingForDrain = false;
                    blocked.done.accept(null);
                    flush();
                });
            } else {
                op.done.accept(null);
            }
        }
    }

    private static void failAll(Queue<Op> ops) {
        Op op;
        while ((op = ops.poll()) != null) {
            fail(op);
        }
    }

    private static void fail(Op op) {
        if (op.done != null) {
            op.done.accept(new ClosedChannelException());
        }
    }

    /** Always queued, never inline, so that calls from different threads keep their order. */
    private void onContext(Runnable r) {
        context.runOnContext(v -> r.run());
    }

    private record Op(byte[] data, Consumer<Throwable> done) {
    }
}
