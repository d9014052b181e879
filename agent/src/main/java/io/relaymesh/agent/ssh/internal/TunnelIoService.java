package io.relaymesh.agent.ssh.internal;

import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoService;
import org.apache.sshd.common.io.IoServiceEventListener;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.util.closeable.AbstractCloseable;

/**
 * The {@link IoService} behind every {@link TunnelIoSession}: it has no acceptor and never
 * listens; SSH connections are handed to it as byte streams ({@link #open}).
 */
public final class TunnelIoService extends AbstractCloseable implements IoService {
    private final IoHandler handler;
    private final Executor executor;
    private final Map<Long, IoSession> sessions = new ConcurrentHashMap<>();
    private volatile IoServiceEventListener eventListener;

    public TunnelIoService(IoHandler handler, Executor executor) {
        this.handler = handler;
        this.executor = executor;
    }

    /** Starts an SSH server connection over {@code transport}. */
    public TunnelIoSession open(ByteTransport transport, String description) {
        if (isClosing()) {
            throw new IllegalStateException("the agent SSH server is closed");
        }
        TunnelIoSession session = new TunnelIoSession(this, handler, transport, executor, description);
        sessions.put(session.getId(), session);
        session.start();
        return session;
    }

    void sessionClosed(TunnelIoSession session) {
        sessions.remove(session.getId());
    }

    @Override
    public Map<Long, IoSession> getManagedSessions() {
        return Collections.unmodifiableMap(sessions);
    }

    @Override
    public IoServiceEventListener getIoServiceEventListener() {
        return eventListener;
    }

    @Override
    public void setIoServiceEventListener(IoServiceEventListener listener) {
        this.eventListener = listener;
    }

    @Override
    protected void doCloseImmediately() {
        for (IoSession s : sessions.values()) {
            s.close(true);
        }
        super.doCloseImmediately();
    }
}
