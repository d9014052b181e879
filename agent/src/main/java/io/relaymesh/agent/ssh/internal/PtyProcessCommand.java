package io.relaymesh.agent.ssh.internal;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.sshd.server.Environment;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A shell or exec request with a terminal: the process runs on the slave side of a fresh
 * {@link Pty}, which is its controlling terminal, so {@code tty}, job control, {@code vim} and
 * {@code top} behave as under sshd. Window-change requests resize the pty, which makes the
 * kernel send SIGWINCH to the foreground job.
 *
 * <p>How the child gets its terminal: {@code setsid} starts a new session (no controlling
 * terminal), then {@code /bin/sh} opens the slave as stdin/stdout/stderr (a session leader
 * without a terminal acquires the first terminal it opens) and execs the user's shell, which so
 * keeps the pid. The agent itself never opens the slave without {@code O_NOCTTY}: had it no
 * terminal of its own (a container's init process), the pty would become the agent's.
 *
 * <p>Threading: one thread copies pty output to the channel, one copies channel input to the
 * pty, one waits for the exit; MINA threads only start, resize and destroy it.
 */
final class PtyProcessCommand extends ProcessCommand {
    private static final Logger LOG = LoggerFactory.getLogger(PtyProcessCommand.class);
    private static final int SIGHUP = 1;
    /** After the process exits, output still in flight is read until EOF, at most this long. */
    private static final long DRAIN_AFTER_EXIT_MS = 2_000;
    /** Run by /bin/sh in the new session: $1 is the slave, the rest the command to exec. */
    private static final String ATTACH = "exec 0<>\"$1\" 1>&0 2>&0 && shift && exec \"$@\"";

    private final String setsid;
    private volatile Pty pty;

    PtyProcessCommand(LaunchSpec spec, String setsid) {
        super(spec);
        this.setsid = setsid;
    }

    @Override
    public void start(ChannelSession channel, Environment env) throws IOException {
        Map<String, String> sshEnv = env.getEnv();
        Pty p = Pty.open(intOr(sshEnv.get(Environment.ENV_COLUMNS), 80), intOr(sshEnv.get(Environment.ENV_LINES), 24));
        pty = p;
        List<String> argv = new ArrayList<>(List.of(setsid, "--wait", "/bin/sh", "-c", ATTACH, "relaymesh-pty",
                p.slavePath()));
        argv.addAll(spec.argv());
        File devNull = new File("/dev/null");
        ProcessBuilder pb = new ProcessBuilder(argv)
                .directory(spec.user().home().toFile())
                .redirectInput(devNull)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(SessionEnvironment.build(spec.user(), spec.agentEnv(), spec.extraEnv(), env, p.slavePath()));
        Process proc;
        try {
            proc = pb.start();
        } catch (IOException e) {
            p.close();
            throw new IOException("cannot start " + spec.describe() + " on " + p.slavePath() + ": " + e.getMessage(), e);
        }
        process = proc;

        env.addSignalListener((ch, signal) -> {
            if (signal == Signal.WINCH) {
                try {
                    p.resize(intOr(env.getEnv().get(Environment.ENV_COLUMNS), 80),
                            intOr(env.getEnv().get(Environment.ENV_LINES), 24));
                } catch (IOException e) {
                    LOG.debug("resize of {} failed: {}", p.slavePath(), e.toString());
                }
            } else {
                Pty.kill(proc.pid(), signal.getNumeric());
            }
        });

        String name = "ssh-pty-" + proc.pid();
        Thread output = thread(name + "-out", () -> {
            byte[] buf = new byte[16 * 1024];
            try {
                int n;
                while ((n = p.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // channel closed
            }
        });
        thread(name + "-in", () -> {
            byte[] buf = new byte[8 * 1024];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (n > 0 && !p.write(buf, 0, n)) {
                        return;
                    }
                }
            } catch (IOException e) {
                // channel closed
            }
        });
        thread(name + "-wait", () -> {
            int code;
            try {
                code = proc.waitFor();
                p.releaseSlave();
                output.join(DRAIN_AFTER_EXIT_MS); // background jobs may keep the slave open
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            p.close();
            LOG.debug("{} on {} exited with {}", spec.describe(), p.slavePath(), code);
            exit.onExit(code);
        });
    }

    private static int intOr(String s, int dflt) {
        try {
            return s == null ? dflt : Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        Process proc = process;
        if (proc != null && proc.isAlive()) {
            Pty.kill(proc.pid(), SIGHUP); // what a terminal hang-up sends, as sshd does
        }
        Pty p = pty;
        if (p != null) {
            p.close();
        }
    }
}
