package io.relaymesh.agent.ssh.internal;

import java.io.InputStream;
import java.io.OutputStream;

import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.command.Command;

/**
 * What the two ways of running a session's process share: the channel's streams and exit
 * callback handed over by MINA, the launched process, and daemon pump threads.
 */
abstract class ProcessCommand implements Command {
    protected final LaunchSpec spec;
    protected InputStream in;
    protected OutputStream out;
    /** The channel's stderr; a terminal session writes everything through the pty instead. */
    protected OutputStream err;
    protected ExitCallback exit;
    protected volatile Process process;

    ProcessCommand(LaunchSpec spec) {
        this.spec = spec;
    }

    @Override
    public final void setInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public final void setOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public final void setErrorStream(OutputStream err) {
        this.err = err;
    }

    @Override
    public final void setExitCallback(ExitCallback callback) {
        this.exit = callback;
    }

    /** Starts a named daemon thread. */
    static Thread thread(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
