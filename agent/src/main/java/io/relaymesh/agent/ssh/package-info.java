/**
 * The agent's built-in SSH server, reached only through tunnel streams.
 *
 * <h2>Handing a tunnel stream to the server</h2>
 * <pre>{@code
 * // once, at agent start-up (blocking: loads or generates the host key)
 * AgentSshServer ssh = AgentSshServer.create(stateDir, SshServerOptions.defaults());
 *
 * // per authorized stream whose target is the built-in SSH server, on the stream's event loop
 * ssh.serve(stream, stream)            // ReadStream<Buffer> + WriteStream<Buffer>
 *    .onComplete(ar -> ...);           // completes when the SSH connection has ended
 *
 * // or, from any thread
 * ssh.serve(streamContext, stream, stream, "stream " + id);
 * }</pre>
 * The server reads the stream with back-pressure (it pauses the stream while MINA is behind) and
 * writes with back-pressure (it waits for the drain handler when the write queue is full). It
 * ends the write side when the SSH connection ends; the caller may then close or reset the stream.
 *
 * <h2>Threads</h2>
 * MINA's work (key exchange, channels, SFTP) runs on threads owned by the server; each session's
 * child processes get dedicated I/O threads. Vert.x event loops only move bytes.
 *
 * <h2>Why no authentication</h2>
 * There is no listening socket: the only way in is a tunnel stream, and the relay opens one to
 * this agent only after verifying the user's signed ticket for this workspace. The SSH layer
 * therefore accepts the {@code none} method (and any key, and keyboard-interactive with no
 * prompts), so {@code ssh -o BatchMode=yes} works. Sessions run as the agent's user.
 *
 * <h2>Platform</h2>
 * Linux (pty through {@code posix_openpt} via JNA; {@code setsid} from util-linux and
 * {@code /bin/sh} in the workspace).
 */
package io.relaymesh.agent.ssh;
