package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.sshd.common.future.CloseFuture;
import org.apache.sshd.common.io.AbstractIoWriteFuture;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoService;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.closeable.AbstractCloseable;

/**
 * A MINA SSHD {@link IoSession} over a {@link ByteTransport} instead of a socket: the server
 * side of one SSH connection that arrived through a tunnel stream. There is no acceptor and no
 * listening socket; {@link TunnelIoService} only keeps the book of live sessions.
 *
 * <p>Threading: input is handed to MINA ({@link IoHandler#messageReceived}) on a per-session
 * serial executor running on MINA-side threads, never on the transport's thread (a Vert.x event
 * loop). Write futures are completed on those threads too, so MINA listeners never run on the
 * event loop.
 *
 * <p>Back-pressure, both ways, with bounded buffering:
 * <ul>
 *   <li>input: while more than {@link #INPUT_HIGH_WATER} bytes wait for MINA, or while MINA
 *       asked {@link #suspendRead()}, the transport is paused; it resumes below
 *       {@link #INPUT_LOW_WATER};</li>
 *   <li>output: a write future completes only when the transport accepted the bytes with room to
 *       spare; MINA's channel streams (SFTP, forwarded ports, command output) wait for those
 *       futures, and the SSH channel windows bound the rest.</li>
 * </ul>
 */
public final class TunnelIoSession extends AbstractCloseable implements IoSession, ByteTransport.Receiver {

    /** Pause the transport when this many received bytes wait for MINA. */
    public static final int INPUT_HIGH_WATER = 256 * 1024;
    /** Resume it when the backlog falls below this. */
    public static final int INPUT_LOW_WATER = 64 * 1024;

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final TunnelIoService service;
    private final IoHandler handler;
    private final ByteTransport transport;
    private final SerialExecutor inbound;
    private final Executor callbacks;
    private final SocketAddress localAddress;
    private final SocketAddress remoteAddress;
    private final Map<Object, Object> attributes = Collections.synchronizedMap(new HashMap<>());
    private final Set<WriteFuture> pendingWrites = ConcurrentHashMap.newKeySet();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();

    private final Object inputLock = new Object();
    private long queuedInputBytes; // guarded by inputLock
    private boolean minaSuspended; // guarded by inputLock
    private boolean transportPaused; // guarded by inputLock

    TunnelIoSession(TunnelIoService service, IoHandler handler, ByteTransport transport, Executor executor,
            String description) {
        this.service = service;
        this.handler = handler;
        this.transport = transport;
        this.inbound = new SerialExecutor(executor);
        this.callbacks = executor;
        this.localAddress = new TunnelAddress("agent-ssh");
        this.remoteAddress = new TunnelAddress(description);
    }

    /** Creates the SSH server session, then starts reading from the transport. */
    void start() {
        inbound.execute(() -> {
            try {
                handler.sessionCreated(this);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                close(true);
            }
        });
        transport.start(this);
    }

    public long bytesIn() {
        return bytesIn.get();
    }

    public long bytesOut() {
        return bytesOut.get();
    }

    /** Why the connection ended, if it ended because of an error. */
    public Throwable failure() {
        return failure.get();
    }

    // ---- input from the transport -------------------------------------------------------------

    @Override
    public void onData(byte[] data) {
        if (isClosing() || data.length == 0) {
            return;
        }
        bytesIn.addAndGet(data.length);
        synchronized (inputLock) {
            queuedInputBytes += data.length;
            updateTransportPause();
        }
        inbound.execute(() -> {
            try {
                if (!isClosing()) {
                    handler.messageReceived(this, new ByteArrayBuffer(data));
                }
            } catch (Throwable t) {
                exceptionCaught(t);
            } finally {
                synchronized (inputLock) {
                    queuedInputBytes -= data.length;
                    updateTransportPause();
                }
            }
        });
    }

    @Override
    public void onEnd() {
        inbound.execute(() -> close(true));
    }

    @Override
    public void onError(Throwable error) {
        inbound.execute(() -> {
            failure.compareAndSet(null, error);
            close(true);
        });
    }

    private void updateTransportPause() {
        boolean pause = minaSuspended || queuedInputBytes > INPUT_HIGH_WATER
                || (transportPaused && queuedInputBytes > INPUT_LOW_WATER);
        if (pause != transportPaused) {
            transportPaused = pause;
            transport.setInputSuspended(pause); // under the lock: calls reach the transport in order
        }
    }

    @Override
    public void suspendRead() {
        synchronized (inputLock) {
            minaSuspended = true;
            updateTransportPause();
        }
    }

    @Override
    public void resumeRead() {
        synchronized (inputLock) {
            minaSuspended = false;
            updateTransportPause();
        }
    }

    private void exceptionCaught(Throwable t) {
        if (isClosing()) {
            return;
        }
        try {
            handler.exceptionCaught(this, t);
        } catch (Throwable e) {
            failure.compareAndSet(null, t);
            close(true);
        }
    }

    // ---- output to the transport --------------------------------------------------------------

    @Override
    public IoWriteFuture writeBuffer(Buffer buffer) throws IOException {
        byte[] data = buffer.getCompactData(); // a copy: MINA may reuse its buffer once we return
        WriteFuture future = new WriteFuture(data.length);
        if (isClosing()) {
            future.setValue(new ClosedChannelException());
            return future;
        }
        pendingWrites.add(future);
        bytesOut.addAndGet(data.length);
        transport.write(data, error -> completeWrite(future, error));
        return future;
    }

    /** Completes {@code future} off the transport's thread, so MINA listeners never run there. */
    private void completeWrite(WriteFuture future, Throwable error) {
        Runnable complete = () -> {
            pendingWrites.remove(future);
            if (error == null) {
                future.setValue(Boolean.TRUE);
            } else {
                future.setValue(error);
                failure.compareAndSet(null, error);
                close(true);
            }
        };
        try {
            callbacks.execute(complete);
        } catch (RejectedExecutionException e) {
            complete.run(); // shutting down: nothing blocking is left to run
        }
    }

    @Override
    public void shutdownOutputStream() {
        transport.shutdownOutput();
    }

    // ---- close --------------------------------------------------------------------------------

    @Override
    protected CloseFuture doCloseGracefully() {
        List<WriteFuture> writes = new ArrayList<>(pendingWrites);
        return builder().when(getId(), writes).build().close(false);
    }

    @Override
    protected void doCloseImmediately() {
        for (WriteFuture w : new ArrayList<>(pendingWrites)) {
            pendingWrites.remove(w);
            w.setValue(new ClosedChannelException());
        }
        transport.close();
        service.sessionClosed(this);
        super.doCloseImmediately();
        try {
            handler.sessionClosed(this);
        } catch (Exception e) {
            log.debug("sessionClosed({}) failed: {}", this, e.toString());
        }
    }

    // ---- plain IoSession accessors ------------------------------------------------------------

    @Override
    public long getId() {
        return id;
    }

    @Override
    public SocketAddress getAcceptanceAddress() {
        return localAddress;
    }

    @Override
    public SocketAddress getRemoteAddress() {
        return remoteAddress;
    }

    @Override
    public SocketAddress getLocalAddress() {
        return localAddress;
    }

    @Override
    public Object getAttribute(Object key) {
        return attributes.get(key);
    }

    @Override
    public Object setAttribute(Object key, Object value) {
        return attributes.put(key, value);
    }

    @Override
    public Object setAttributeIfAbsent(Object key, Object value) {
        return attributes.putIfAbsent(key, value);
    }

    @Override
    public Object removeAttribute(Object key) {
        return attributes.remove(key);
    }

    @Override
    public IoService getService() {
        return service;
    }

    @Override
    public String toString() {
        return "TunnelIoSession[" + id + ", " + remoteAddress + "]";
    }

    /** The write future MINA waits on. */
    static final class WriteFuture extends AbstractIoWriteFuture {
        WriteFuture(int length) {
            super(length, null);
        }
    }

    /** Stands for the tunnel stream in MINA's logs and forwarding metadata. */
    static final class TunnelAddress extends SocketAddress {
        private static final long serialVersionUID = 1L;
        private final String description;

        TunnelAddress(String description) {
            this.description = description;
        }

        @Override
        public String toString() {
            return "tunnel:" + description;
        }
    }
}
