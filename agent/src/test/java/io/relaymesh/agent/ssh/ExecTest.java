package io.relaymesh.agent.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Exec and shell sessions without a terminal, driven by the real OpenSSH client. */
@Timeout(120)
class ExecTest {
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

    @Test
    void execReturnsStdoutStderrAndExitStatus() throws Exception {
        SshBridge.Result r = SshBridge.run(bridge.ssh("dev@127.0.0.1",
                "echo to-stdout; echo to-stderr >&2; exit 7"), null, tmp);
        assertThat(r.stdout()).isEqualTo("to-stdout\n");
        assertThat(r.stderr()).isEqualTo("to-stderr\n");
        assertThat(r.exit()).isEqualTo(7);
    }

    /** Interactive stdin without a terminal (git, rsync): each line arrives at once, not at EOF. */
    @Test
    void stdinWithoutATerminalReachesTheCommandLineByLine() throws Exception {
        Process p = new ProcessBuilder(bridge.ssh("dev@127.0.0.1",
                "read a; echo got:$a; read b; echo got:$b")).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
                    p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            java.util.concurrent.ExecutorService reader =
                    java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                p.getOutputStream().write("hi\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                p.getOutputStream().flush(); // stdin stays open
                assertThat(reader.submit(out::readLine).get(20, java.util.concurrent.TimeUnit.SECONDS))
                        .isEqualTo("got:hi");
                p.getOutputStream().write("bye\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                p.getOutputStream().close();
                assertThat(reader.submit(out::readLine).get(20, java.util.concurrent.TimeUnit.SECONDS))
                        .isEqualTo("got:bye");
                assertThat(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isZero();
            } finally {
                reader.shutdownNow();
            }
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void serveCompletesWhenTheSshConnectionEnds() throws Exception {
        int before = bridge.served.size();
        SshBridge.Result r = SshBridge.run(bridge.ssh("dev@127.0.0.1", "true"), null, tmp);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(bridge.served).hasSize(before + 1);
        io.vertx.core.Future<Void> served = bridge.served.get(before);
        served.await(30, java.util.concurrent.TimeUnit.SECONDS); // throws if it failed
        assertThat(served.succeeded()).isTrue();
    }

    @Test
    void serveOutsideAVertxContextIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> bridge.server.serve(
                        new io.relaymesh.agent.ssh.internal.BackPressureTest.FakeReadStream(),
                        new io.relaymesh.agent.ssh.internal.BackPressureTest.FakeWriteStream()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Vert.x context");
    }

    @Test
    void runsAsTheAgentUserInItsHomeWithoutATerminal() throws Exception {
        SshBridge.Result r = SshBridge.run(bridge.ssh("someone-else@127.0.0.1",
                "id -un; pwd; echo \"$HOME\"; tty || true"), null, tmp);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout().lines()).containsExactly(
                System.getProperty("user.name"),
                bridge.home.toRealPath().toString(),
                bridge.home.toString(),
                "not a tty");
    }

    @Test
    void environmentFromTheClientReachesTheCommand() throws Exception {
        SshBridge.Result r = SshBridge.run(bridge.ssh("-o", "SetEnv=FOO=bar LC_RELAYMESH_TEST=x-y",
                "dev@127.0.0.1", "printf '%s|%s|%s\\n' \"$FOO\" \"$LC_RELAYMESH_TEST\" \"$USER\""), null, tmp);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("bar|x-y|" + System.getProperty("user.name") + "\n");
    }

    @Test
    void stdinIsForwardedAndEndsWithEof() throws Exception {
        Path input = tmp.resolve("stdin.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            sb.append("line ").append(i).append('\n');
        }
        Files.writeString(input, sb);
        SshBridge.Result r = SshBridge.run(bridge.ssh("dev@127.0.0.1", "wc -l; echo done"), input, tmp);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("20000\ndone\n");
    }

    @Test
    void shellWithoutTerminalReadsCommandsFromStdin() throws Exception {
        Path input = tmp.resolve("script.sh");
        Files.writeString(input, "echo from-shell $((6 * 7))\nexit 3\n");
        SshBridge.Result r = SshBridge.run(bridge.ssh("-T", "dev@127.0.0.1"), input, tmp);
        assertThat(r.stdout()).contains("from-shell 42");
        assertThat(r.exit()).isEqualTo(3);
    }
}
