package io.relaymesh.agent.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.keyverifier.RequiredServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sessions with a pseudo-terminal: controlling tty, window size, resize, exit status. */
@Timeout(120)
class PtyTest {
    @TempDir
    static Path tmp;
    static SshBridge bridge;

    @BeforeAll
    static void start() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        bridge = SshBridge.start(tmp.resolve("state"), home, Files.createDirectories(tmp.resolve("scratch")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (bridge != null) {
            bridge.close();
        }
    }

    /**
     * OpenSSH with {@code -tt}, run under {@code script} so that its own stdin is a terminal of a
     * known size (91x33): the remote command must see a pts device as its controlling terminal,
     * that size, and TERM from the client.
     */
    @Test
    void openSshTtyGivesAControllingTerminalOfTheClientsSize() throws Exception {
        String remote = "tty; stty size; echo \"term=$TERM\"; echo via-dev-tty > /dev/tty; exit 5";
        String inner = "stty cols 91 rows 33; TERM=xterm-256color " + shellQuote(bridge.ssh("-tt", "dev@127.0.0.1", remote));
        SshBridge.Result r = SshBridge.run(List.of("script", "-q", "-e", "-c", inner, "/dev/null"), null, tmp);
        // script turns its stdin's EOF (/dev/null) into a NUL keystroke, which a terminal echoes as ^@
        String out = r.stdout().replace("\r", "").replace("^@", "");
        assertThat(out).as(r.stderr()).containsPattern("(?m)^/dev/pts/\\d+$");
        assertThat(out).contains("\n33 91\n").contains("term=xterm-256color").contains("via-dev-tty");
        assertThat(r.exit()).isEqualTo(5);
    }

    /** A window-change request must reach the pty (checked with stty size inside the session). */
    @Test
    void windowChangeResizesThePty() throws Exception {
        try (SshClient client = SshClient.setUpDefaultClient()) {
            client.setServerKeyVerifier(new RequiredServerKeyVerifier(bridge.server.hostPublicKey()));
            client.start();
            try (ClientSession session = client.connect("dev", "127.0.0.1", bridge.port())
                    .verify(Duration.ofSeconds(30)).getSession()) {
                session.auth().verify(Duration.ofSeconds(30));
                try (ChannelShell shell = session.createShellChannel()) {
                    shell.setPtyType("xterm");
                    shell.setPtyColumns(100);
                    shell.setPtyLines(40);
                    PipedOutputStream keyboard = new PipedOutputStream();
                    shell.setIn(new PipedInputStream(keyboard, 64 * 1024));
                    Screen screen = new Screen();
                    shell.setOut(screen);
                    shell.setErr(screen);
                    shell.open().verify(Duration.ofSeconds(30));

                    type(keyboard, "echo size-$((20+1)) $(stty size)\n");
                    assertThat(screen.await("size-21 (\\d+ \\d+)")).isEqualTo("40 100");

                    shell.sendWindowChange(132, 50);
                    type(keyboard, "echo size-$((21+1)) $(stty size)\n");
                    assertThat(screen.await("size-22 (\\d+ \\d+)")).isEqualTo("50 132");

                    type(keyboard, "exit 0\n");
                }
            }
        }
    }

    /** Like sshd: when the client goes away, the terminal hangs up and its processes end. */
    @Test
    void disconnectHangsUpTheTerminalAndEndsItsProcesses() throws Exception {
        long shellPid;
        long jobPid;
        try (SshClient client = SshClient.setUpDefaultClient()) {
            client.setServerKeyVerifier(new RequiredServerKeyVerifier(bridge.server.hostPublicKey()));
            client.start();
            try (ClientSession session = client.connect("dev", "127.0.0.1", bridge.port())
                    .verify(Duration.ofSeconds(30)).getSession()) {
                session.auth().verify(Duration.ofSeconds(30));
                ChannelShell shell = session.createShellChannel();
                shell.setPtyType("xterm");
                PipedOutputStream keyboard = new PipedOutputStream();
                shell.setIn(new PipedInputStream(keyboard, 64 * 1024));
                Screen screen = new Screen();
                shell.setOut(screen);
                shell.setErr(screen);
                shell.open().verify(Duration.ofSeconds(30));
                type(keyboard, "sleep 300 & echo \"pids-$((1+1)) $$ $!\"\n");
                String[] pids = screen.await("pids-2 (\\d+ \\d+)").split(" ");
                shellPid = Long.parseLong(pids[0]);
                jobPid = Long.parseLong(pids[1]);
                assertThat(ProcessHandle.of(shellPid)).isPresent();
                assertThat(ProcessHandle.of(jobPid)).isPresent();
            } // the connection drops without exiting the shell
        }
        awaitGone(shellPid);
        awaitGone(jobPid);
    }

    private static void awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > deadline) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                throw new AssertionError("process " + pid + " survived the disconnect");
            }
            Thread.sleep(20);
        }
    }

    private static void type(OutputStream keyboard, String text) throws Exception {
        keyboard.write(text.getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
    }

    private static String shellQuote(List<String> argv) {
        StringBuilder sb = new StringBuilder();
        for (String a : argv) {
            sb.append('\'').append(a.replace("'", "'\\''")).append("' ");
        }
        return sb.toString();
    }

    /** Collects terminal output; {@link #await} waits (bounded) for a pattern to show up. */
    static final class Screen extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
            notifyAll();
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
            notifyAll();
        }

        /** Group 1 of the first match of {@code regex} (the echoed command line itself cannot match). */
        synchronized String await(String regex) throws InterruptedException {
            Pattern p = Pattern.compile(regex);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            for (;;) {
                Matcher m = p.matcher(bytes.toString(StandardCharsets.UTF_8));
                if (m.find()) {
                    return m.group(1);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no match for /" + regex + "/ in terminal output:\n"
                            + bytes.toString(StandardCharsets.UTF_8));
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }
    }
}
