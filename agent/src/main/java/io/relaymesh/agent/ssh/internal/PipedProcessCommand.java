package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.sshd.server.Environment;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An exec or shell request without a terminal: a plain child process whose stdin, stdout and
 * stderr are three pipes pumped to and from the SSH channel, and whose exit status is sent back.
 * Like sshd, the exit status goes out only after stdout and stderr reached EOF, so no output is
 * lost.
 *
 * <p>Threading: three dedicated pump threads plus one waiter per command; MINA threads only
 * start and destroy it.
 */
final class PipedProcessCommand extends ProcessCommand {
    private static final Logger LOG = LoggerFactory.getLogger(PipedProcessCommand.class);

    PipedProcessCommand(LaunchSpec spec) {
        super(spec);
    }

    @Override
    public void start(ChannelSession channel, Environment env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(spec.argv()).directory(spec.user().home().toFile());
        pb.environment().clear();
        pb.environment().putAll(SessionEnvironment.build(spec.user(), spec.agentEnv(), spec.extraEnv(), env, null));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot start " + spec.describe() + ": " + e.getMessage(), e);
        }
        process = p;
        env.addSignalListener((ch, signal) -> {
            if (signal != Signal.WINCH) {
                Pty.kill(p.pid(), signal.getNumeric());
            }
        });
        String name = "ssh-exec-" + p.pid();
        Thread stdin = thread(name + "-stdin", () -> {
            try (OutputStream toProcess = p.getOutputStream()) {
                // flushed at every read: the process's stdin is buffered, and an interactive
                // command (`read`, git, rsync) must get each line as it comes, not at 8 KiB or
                // EOF; closing on EOF lets `cat`-like commands finish
                copy(in, toProcess);
            } catch (IOException e) {
                // the process closed its stdin or the channel went away
            }
        });
        Thread stdout = thread(name + "-stdout", () -> pump(p.getInputStream(), out));
        Thread stderr = thread(name + "-stderr", () -> pump(p.getErrorStream(), err));
        thread(name + "-wait", () -> {
            int code;
            try {
                code = p.waitFor();
                stdout.join();
                stderr.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            stdin.interrupt();
            LOG.debug("{} exited with {}", spec.describe(), code);
            exit.onExit(code);
        });
    }

    private static void pump(InputStream from, OutputStream to) {
        try (from) {
            copy(from, to);
        } catch (IOException e) {
            // channel closed: the process gets SIGPIPE/EOF on its own
        }
    }

    /** Copies until EOF, flushing after every read. */
    private static void copy(InputStream from, OutputStream to) throws IOException {
        byte[] buf = new byte[32 * 1024];
        int n;
        while ((n = from.read(buf)) >= 0) {
            to.write(buf, 0, n);
            to.flush();
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        Process p = process;
        if (p != null && p.isAlive()) {
            List<ProcessHandle> tree = new ArrayList<>();
            p.descendants().forEach(tree::add);
            p.destroy();
            tree.forEach(ProcessHandle::destroy);
        }
    }
}
