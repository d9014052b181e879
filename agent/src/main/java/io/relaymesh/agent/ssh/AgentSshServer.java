package io.relaymesh.agent.ssh;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.relaymesh.agent.ssh.internal.HostKeys;
import io.relaymesh.agent.ssh.internal.LoopbackForwarding;
import io.relaymesh.agent.ssh.internal.ServerSetup;
import io.relaymesh.agent.ssh.internal.TunnelIoService;
import io.relaymesh.agent.ssh.internal.TunnelIoSession;
import io.relaymesh.agent.ssh.internal.TunnelSshServer;
import io.relaymesh.agent.ssh.internal.VertxStreamTransport;
import io.relaymesh.agent.ssh.internal.WorkspaceUser;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's built-in SSH server (Apache MINA SSHD). It has <b>no TCP listener</b>: the agent's
 * tunnel code hands it one already-authorized tunnel stream per SSH connection with
 * {@link #serve(ReadStream, WriteStream)}.
 *
 * <p>What it offers: exec and shell sessions, with a real pseudo-terminal when the client asks for
 * one (window resize, signals, exit status), client environment variables, SFTP, and
 * {@code direct-tcpip} forwarding to the workspace's loopback ports (ssh -L/-W, VS Code
 * Remote-SSH). Sessions run as the agent process's user, with its login shell, in its home.
 *
 * <p><b>Authentication</b>: every client is accepted ({@code none}, any public key,
 * keyboard-interactive without prompts), so {@code ssh -o BatchMode=yes} works. That is safe
 * because nothing but a tunnel stream reaches this server: there is no listening socket, and the
 * relay opens a stream to this agent only after verifying the user's signed connection ticket for
 * this workspace (every stream open is authorized). The SSH user name is ignored. The host key
 * still matters: it lets the client pin the agent it talks to.
 *
 * <p>Threading: {@code serve} is non-blocking and may be called on the tunnel stream's event
 * loop; all SSH work runs on MINA-side threads owned by this server, the streams are touched only
 * on their context.
 */
public final class AgentSshServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgentSshServer.class);

    private final TunnelSshServer sshd;
    private final TunnelIoService io;
    private final ExecutorService executor;
    private final KeyPair hostKey;
    private final AtomicLong connectionIds = new AtomicLong();

    private AgentSshServer(TunnelSshServer sshd, TunnelIoService io, ExecutorService executor, KeyPair hostKey) {
        this.sshd = sshd;
        this.io = io;
        this.executor = executor;
        this.hostKey = hostKey;
    }

    /**
     * Creates the server: loads the host key from {@code stateDir} (generating and persisting it,
     * mode 0600, on first use) and configures MINA. Blocking (file I/O, key generation): call it at
     * agent start-up, not on an event loop.
     */
    public static AgentSshServer create(Path stateDir, SshServerOptions options) throws IOException {
        KeyPair hostKey = HostKeys.loadOrCreate(stateDir);
        WorkspaceUser user = WorkspaceUser.current(options.shell(), options.home());
        if (!ServerSetup.commandAvailable(options.setsidPath())) {
            LOG.warn("'{}' (util-linux) not found: SSH sessions with a terminal (ssh -t, interactive ssh) will fail; "
                    + "exec without a terminal, SFTP and port forwarding still work", options.setsidPath());
        }
        TunnelSshServer sshd = ServerSetup.configure(hostKey, user, options);
        sshd.startWithoutListener();
        AtomicInteger threads = new AtomicInteger();
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "relaymesh-ssh-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        TunnelIoService io = new TunnelIoService(sshd.getSessionFactory(), executor);
        LOG.info("agent SSH server ready: host key {} ({}), user {}, shell {}, home {}",
                KeyUtils.getFingerPrint(hostKey.getPublic()), KeyUtils.getKeyType(hostKey.getPublic()),
                user.name(), user.shell(), user.home());
        return new AgentSshServer(sshd, io, executor, hostKey);
    }

    /**
     * Serves one SSH connection over a tunnel stream. Must be called on the stream's Vert.x
     * context (its event loop); see {@link #serve(Context, ReadStream, WriteStream, String)}.
     */
    public Future<Void> serve(ReadStream<Buffer> in, WriteStream<Buffer> out) {
        Context context = Vertx.currentContext();
        if (context == null) {
            throw new IllegalStateException("AgentSshServer.serve(in, out) must be called on the tunnel stream's "
                    + "Vert.x context; pass the context explicitly from other threads");
        }
        return serve(context, in, out, null);
    }

    /**
     * Serves one SSH connection over {@code in}/{@code out}, which belong to {@code context}: the
     * streams are only touched there. Reading starts at once (the stream should be paused or fresh
     * when handed over); {@code out} is ended when the SSH connection ends.
     *
     * @param label names the connection in logs (e.g. the tunnel stream id); may be null
     * @return completes on {@code context} when the SSH connection has ended: succeeded after a
     *         normal disconnect or end of stream, failed if the stream failed
     */
    public Future<Void> serve(Context context, ReadStream<Buffer> in, WriteStream<Buffer> out, String label) {
        String name = label != null ? label : "stream-" + connectionIds.incrementAndGet();
        Promise<Void> closed = Promise.promise();
        VertxStreamTransport transport = new VertxStreamTransport(context, in, out, closed);
        long started = System.nanoTime();
        TunnelIoSession session;
        try {
            session = io.open(transport, name);
        } catch (RuntimeException e) {
            transport.close();
            return Future.failedFuture(e);
        }
        // the tunnel stream's open/close lines (StreamAcceptor) carry ids, bytes and duration
        LOG.debug("ssh connection {} opened", name);
        return closed.future().transform(ar -> {
            Throwable failure = session.failure();
            LOG.debug("ssh connection {} closed after {} ms: {} B in, {} B out{}", name,
                    Duration.ofNanos(System.nanoTime() - started).toMillis(), session.bytesIn(), session.bytesOut(),
                    failure == null ? "" : " (" + failure + ")");
            return failure == null ? Future.<Void>succeededFuture() : Future.<Void>failedFuture(failure);
        });
    }

    /** The host public key, for known_hosts entries. */
    public PublicKey hostPublicKey() {
        return hostKey.getPublic();
    }

    /** The host key fingerprint as OpenSSH prints it, e.g. {@code SHA256:...}. */
    public String hostKeyFingerprint() {
        return KeyUtils.getFingerPrint(hostKey.getPublic());
    }

    /** The host key as an OpenSSH public key line ({@code ssh-ed25519 AAAA...}). */
    public String hostKeyOpenSsh() {
        return PublicKeyEntry.toString(hostKey.getPublic());
    }

    /** Number of SSH connections being served now. */
    public int activeConnections() {
        return io.getManagedSessions().size();
    }

    /** True for the targets {@code direct-tcpip} may reach. Exposed for the tunnel code's own checks. */
    public static boolean isAllowedForwardTarget(String host) {
        return LoopbackForwarding.isLoopbackTarget(host);
    }

    /** Ends every connection and releases the server's threads. */
    @Override
    public void close() {
        List<Throwable> errors = new ArrayList<>();
        try {
            io.close(true);
        } catch (RuntimeException e) {
            errors.add(e);
        }
        try {
            sshd.close(true);
        } catch (RuntimeException e) {
            errors.add(e);
        }
        executor.shutdownNow();
        if (!errors.isEmpty()) {
            LOG.warn("closing the agent SSH server: {}", errors.get(0).toString());
        }
    }
}
