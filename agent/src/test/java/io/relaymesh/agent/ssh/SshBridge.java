package io.relaymesh.agent.ssh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;

/**
 * Test-only bridge: a loopback TCP listener on an ephemeral port whose accepted sockets (Vert.x
 * {@code ReadStream}/{@code WriteStream} pairs, like tunnel streams) are handed to
 * {@link AgentSshServer#serve}. The production server never listens; this stands in for the
 * relay + tunnel so that the real OpenSSH client can be pointed at it.
 */
final class SshBridge implements AutoCloseable {
    final Vertx vertx;
    final AgentSshServer server;
    final NetServer listener;
    final Path knownHosts;
    final Path home;

    /** What {@link AgentSshServer#serve} returned, one per accepted connection. */
    final List<io.vertx.core.Future<Void>> served;

    private SshBridge(Vertx vertx, AgentSshServer server, NetServer listener, Path knownHosts, Path home,
            List<io.vertx.core.Future<Void>> served) {
        this.served = served;
        this.vertx = vertx;
        this.server = server;
        this.listener = listener;
        this.knownHosts = knownHosts;
        this.home = home;
    }

    static SshBridge start(Path stateDir, Path home, Path scratch) throws Exception {
        AgentSshServer server = AgentSshServer.create(stateDir,
                SshServerOptions.defaults().withHome(home).withShell("/bin/bash"));
        return start(server, home, scratch);
    }

    static SshBridge start(AgentSshServer server, Path home, Path scratch) throws Exception {
        for (String tool : List.of("ssh", "sftp", "script")) {
            if (!io.relaymesh.agent.ssh.internal.ServerSetup.commandAvailable(tool)) {
                throw new AssertionError("these tests drive the real OpenSSH client: '" + tool + "' is missing "
                        + "(Debian: apt-get install -y openssh-client bsdutils)");
            }
        }
        Vertx vertx = Vertx.vertx();
        List<io.vertx.core.Future<Void>> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        NetServer listener = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
                .connectHandler(socket -> served.add(server.serve(socket, socket)))
                .listen()
                .await(30, TimeUnit.SECONDS);
        Path knownHosts = scratch.resolve("known_hosts");
        // pin the agent's key under an alias: port-independent, so it survives a restart
        Files.writeString(knownHosts, "relaymesh-agent " + server.hostKeyOpenSsh() + "\n");
        return new SshBridge(vertx, server, listener, knownHosts, home, served);
    }

    int port() {
        return listener.actualPort();
    }

    /** The common OpenSSH client options: no user config, no prompts, strict host key pinning. */
    List<String> sshOptions() {
        return sshOptions("ERROR");
    }

    List<String> sshOptions(String logLevel) {
        return new ArrayList<>(List.of(
                "-F", "/dev/null",
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + knownHosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "HostKeyAlias=relaymesh-agent",
                "-o", "LogLevel=" + logLevel,
                "-o", "ConnectTimeout=20"));
    }

    /** {@code ssh [options] -p PORT dev@127.0.0.1 <extra...>}. */
    List<String> ssh(String... extra) {
        return sshWithLogLevel("ERROR", extra);
    }

    List<String> sshWithLogLevel(String logLevel, String... extra) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ssh");
        cmd.addAll(sshOptions(logLevel));
        cmd.add("-p");
        cmd.add(Integer.toString(port()));
        for (String e : extra) {
            cmd.add(e);
        }
        return cmd;
    }

    @Override
    public void close() throws Exception {
        try {
            listener.close().await(10, TimeUnit.SECONDS);
        } finally {
            server.close();
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** Result of a finished client process. */
    record Result(int exit, String stdout, String stderr) {
    }

    /** Runs {@code command}, feeding {@code stdin} (may be null: empty), with a hard time limit. */
    static Result run(List<String> command, Path stdin, Path scratch) throws IOException, InterruptedException {
        Path out = Files.createTempFile(scratch, "out", ".txt");
        Path err = Files.createTempFile(scratch, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        } else {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process p = pb.start();
        try {
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                throw new AssertionError("timed out: " + command + "\nstderr: " + Files.readString(err));
            }
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
