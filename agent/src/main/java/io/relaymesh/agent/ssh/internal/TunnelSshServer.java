package io.relaymesh.agent.ssh.internal;

import org.apache.sshd.common.Closeable;
import org.apache.sshd.server.SshServer;

/**
 * MINA's {@link SshServer} configured and started without an acceptor: {@link #startWithoutListener}
 * does what {@code start()} does minus binding a socket. Connections come in through
 * {@link TunnelIoService#open}.
 */
public final class TunnelSshServer extends SshServer {

    public void startWithoutListener() {
        checkConfig();
        if (getSessionFactory() == null) {
            setSessionFactory(createSessionFactory());
        }
        setupSessionTimeout(getSessionFactory());
    }

    @Override
    protected Closeable getInnerCloseable() {
        Object id = toString();
        return builder()
                .run(id, () -> removeSessionTimeout(getSessionFactory()))
                .sequential(ioServiceFactory)  // outbound connectors (direct-tcpip), if any were made
                .run(id, () -> {
                    ioServiceFactory = null;
                    if (shutdownExecutor && executor != null && !executor.isShutdown()) {
                        executor.shutdownNow();
                        executor = null;
                    }
                })
                .build();
    }

    @Override
    public String toString() {
        return "AgentSshServer[" + Integer.toHexString(hashCode()) + "]";
    }
}
