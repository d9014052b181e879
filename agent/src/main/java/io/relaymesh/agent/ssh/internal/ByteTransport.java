package io.relaymesh.agent.ssh.internal;

import java.util.function.Consumer;

/**
 * A bidirectional byte stream that carries one SSH connection (a tunnel stream in production, a
 * test socket in tests). The SSH side is {@link TunnelIoSession}.
 *
 * <p>Threading: every method may be called from any thread; implementations hop to their own
 * thread (the Vert.x context of the stream) and must never block the caller.
 */
public interface ByteTransport {

    /** Receives what the peer sends, in order. Calls never overlap. */
    interface Receiver {
        void onData(byte[] data);

        /** The peer ended its side of the stream. */
        void onEnd();

        void onError(Throwable error);
    }

    /** Starts delivering input to {@code receiver}. Called once. */
    void start(Receiver receiver);

    /**
     * Queues {@code data} for the peer, in call order. {@code done} is called exactly once: with
     * {@code null} when the transport has accepted the bytes and has room for more (so a full
     * write queue completes it late: that is the back-pressure signal), or with the error.
     */
    void write(byte[] data, Consumer<Throwable> done);

    /** Pauses ({@code true}) or resumes ({@code false}) delivery of input. */
    void setInputSuspended(boolean suspended);

    /** Ends the output side after every queued write. */
    void shutdownOutput();

    /** Releases the stream: ends output if still open, drops further input. Idempotent. */
    void close();
}
