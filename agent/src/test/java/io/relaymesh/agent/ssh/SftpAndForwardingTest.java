package io.relaymesh.agent.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelDirectTcpip;
import org.apache.sshd.client.keyverifier.RequiredServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.util.net.SshdSocketAddress;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SFTP transfers and direct-tcpip forwarding with the real OpenSSH client. */
@Timeout(180)
class SftpAndForwardingTest {
    @TempDir
    static Path tmp;
    static SshBridge bridge;
    static ServerSocket echo;
    static Thread echoThread;

    @BeforeAll
    static void start() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        bridge = SshBridge.start(tmp.resolve("state"), home, Files.createDirectories(tmp.resolve("scratch")));
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        echoThread = new Thread(SftpAndForwardingTest::echoLoop, "echo-server");
        echoThread.setDaemon(true);
        echoThread.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (echo != null) {
            echo.close();
        }
        if (bridge != null) {
            bridge.close();
        }
    }

    /** A byte-exact echo server: copies until EOF, then half-closes. */
    private static void echoLoop() {
        while (!echo.isClosed()) {
            try {
                Socket s = echo.accept();
                Thread t = new Thread(() -> {
                    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                        in.transferTo(out);
                        s.shutdownOutput();
                    } catch (IOException e) {
                        // client went away
                    }
                }, "echo-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    @Test
    void sftpUploadAndDownloadOf50MiBKeepTheBytes() throws Exception {
        Path original = tmp.resolve("blob.bin");
        writeRandom(original, 50 * 1024 * 1024, 42);
        Path downloaded = tmp.resolve("blob-back.bin");
        Path batch = tmp.resolve("batch.txt");
        // relative remote paths: SFTP starts in the workspace user's home
        Files.writeString(batch, "put " + original + " uploaded.bin\n"
                + "get uploaded.bin " + downloaded + "\n"
                + "pwd\n");
        List<String> cmd = new ArrayList<>(List.of("sftp"));
        cmd.addAll(bridge.sshOptions());
        cmd.addAll(List.of("-P", Integer.toString(bridge.port()), "-b", batch.toString(), "dev@127.0.0.1"));
        SshBridge.Result r = SshBridge.run(cmd, null, tmp);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("Remote working directory: " + bridge.home);

        Path uploaded = bridge.home.resolve("uploaded.bin");
        String expected = sha256(original);
        assertThat(sha256(uploaded)).isEqualTo(expected);
        assertThat(sha256(downloaded)).isEqualTo(expected);
    }

    @Test
    void directTcpipToALoopbackPortIsByteExact() throws Exception {
        Path payload = tmp.resolve("payload.bin");
        writeRandom(payload, 4 * 1024 * 1024 + 17, 7);
        SshBridge.Result r = runBinary(bridge.ssh("-W", "127.0.0.1:" + echo.getLocalPort(), "dev@127.0.0.1"), payload);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(sha256(tmp.resolve("echoed.bin"))).isEqualTo(sha256(payload));
        assertThat(Files.size(tmp.resolve("echoed.bin"))).isEqualTo(Files.size(payload));
    }

    /** ssh -L: a local listener on the client whose connections become direct-tcpip channels. */
    @Test
    void localPortForwardWithDashL() throws Exception {
        int localPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            localPort = probe.getLocalPort();
        }
        List<String> cmd = bridge.ssh("-N", "-o", "ExitOnForwardFailure=yes",
                "-L", "127.0.0.1:" + localPort + ":127.0.0.1:" + echo.getLocalPort(), "dev@127.0.0.1");
        Process ssh = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("ssh-L.txt").toFile()).start();
        try {
            byte[] payload = new byte[256 * 1024 + 3];
            new Random(3).nextBytes(payload);
            byte[] echoed;
            try (Socket s = connectWhenListening(localPort, ssh)) {
                Thread writer = new Thread(() -> {
                    try {
                        s.getOutputStream().write(payload);
                        s.shutdownOutput();
                    } catch (IOException e) {
                        // surfaces as a short read below
                    }
                });
                writer.start();
                echoed = s.getInputStream().readAllBytes();
                writer.join();
            }
            assertThat(echoed).isEqualTo(payload);
        } finally {
            ssh.destroy();
            if (!ssh.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                ssh.destroyForcibly();
            }
        }
    }

    /** Connects once ssh has its -L listener up; bounded, fails if ssh exits first. */
    private static Socket connectWhenListening(int port, Process ssh) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        for (;;) {
            try {
                return new Socket(InetAddress.getLoopbackAddress(), port);
            } catch (IOException e) {
                if (!ssh.isAlive()) {
                    throw new AssertionError("ssh -L exited: " + Files.readString(tmp.resolve("ssh-L.txt")));
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("ssh -L never listened on " + port);
                }
                Thread.sleep(20);
            }
        }
    }

    /**
     * What VS Code Remote-SSH does: one SSH connection carrying an exec channel and many
     * concurrent direct-tcpip channels; every channel must stay byte-exact.
     */
    @Test
    void manyConcurrentChannelsOnOneConnection() throws Exception {
        int channels = 12;
        int size = 1024 * 1024 + 11;
        try (SshClient client = SshClient.setUpDefaultClient()) {
            client.setServerKeyVerifier(new RequiredServerKeyVerifier(bridge.server.hostPublicKey()));
            client.start();
            try (ClientSession session = client.connect("dev", "127.0.0.1", bridge.port())
                    .verify(Duration.ofSeconds(30)).getSession()) {
                session.auth().verify(Duration.ofSeconds(30));
                ExecutorService pool = Executors.newFixedThreadPool(channels + 1);
                try {
                    List<Future<Boolean>> results = new ArrayList<>();
                    for (int i = 0; i < channels; i++) {
                        int seed = i;
                        results.add(pool.submit(() -> echoOverChannel(session, size, seed)));
                    }
                    Future<String> exec = pool.submit(() -> session.executeRemoteCommand("seq 1 50000 | tail -n 1"));
                    for (Future<Boolean> r : results) {
                        assertThat(r.get(60, TimeUnit.SECONDS)).isTrue();
                    }
                    assertThat(exec.get(60, TimeUnit.SECONDS).trim()).isEqualTo("50000");
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    private static boolean echoOverChannel(ClientSession session, int size, long seed) throws Exception {
        byte[] payload = new byte[size];
        new Random(seed).nextBytes(payload);
        try (ChannelDirectTcpip ch = session.createDirectTcpipChannel(new SshdSocketAddress("127.0.0.1", 0),
                new SshdSocketAddress("127.0.0.1", echo.getLocalPort()))) {
            ch.open().verify(Duration.ofSeconds(30));
            Thread writer = new Thread(() -> {
                try (OutputStream toRemote = ch.getInvertedIn()) {
                    for (int off = 0; off < payload.length; off += 8192) {
                        toRemote.write(payload, off, Math.min(8192, payload.length - off));
                    }
                } catch (IOException e) {
                    // surfaces as a mismatch below
                }
            });
            writer.start();
            byte[] echoed = ch.getInvertedOut().readAllBytes();
            writer.join();
            return java.util.Arrays.equals(echoed, payload);
        }
    }

    @Test
    void directTcpipToLocalhostByNameIsAllowed() throws Exception {
        Path payload = tmp.resolve("small.txt");
        Files.writeString(payload, "hello through localhost\n");
        SshBridge.Result r = runBinary(bridge.ssh("-W", "localhost:" + echo.getLocalPort(), "dev@127.0.0.1"), payload);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(Files.readString(tmp.resolve("echoed.bin"))).isEqualTo("hello through localhost\n");
    }

    @Test
    void directTcpipToANonLoopbackTargetIsRefusedWithAReason() throws Exception {
        // a name that is never resolved (.invalid) and the unspecified address: neither is loopback
        for (String target : List.of("db.invalid:5432", "0.0.0.0:" + echo.getLocalPort())) {
            SshBridge.Result r = SshBridge.run(bridge.sshWithLogLevel("INFO", "-W", target, "dev@127.0.0.1"), null, tmp);
            assertThat(r.exit()).as(target).isNotZero();
            assertThat(r.stderr()).as(target)
                    .contains("administratively prohibited")
                    .contains("only loopback targets");
        }
    }

    private static SshBridge.Result runBinary(List<String> command, Path stdin) throws Exception {
        Path out = tmp.resolve("echoed.bin");
        Path err = tmp.resolve("echo-err.txt");
        Process p = new ProcessBuilder(command).redirectInput(stdin.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(90, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new AssertionError("ssh -W did not finish: " + Files.readString(err));
            }
        } finally {
            p.destroyForcibly();
        }
        return new SshBridge.Result(p.exitValue(), "", Files.readString(err));
    }

    static void writeRandom(Path file, int size, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            int left = size;
            while (left > 0) {
                random.nextBytes(chunk);
                int n = Math.min(left, chunk.length);
                out.write(chunk, 0, n);
                left -= n;
            }
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
