package io.relaymesh.agent.ssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The host key is generated once, kept private, and the same after a restart. */
@Timeout(120)
class HostKeyTest {
    @TempDir
    Path tmp;

    @Test
    void hostKeyIsPersistedWithMode0600AndSurvivesARestart() throws Exception {
        Path state = tmp.resolve("state");
        Path home = Files.createDirectories(tmp.resolve("home"));
        Path scratch = Files.createDirectories(tmp.resolve("scratch"));

        String first;
        Path knownHosts;
        try (SshBridge bridge = SshBridge.start(state, home, scratch)) {
            first = bridge.server.hostKeyFingerprint();
            assertThat(bridge.server.hostKeyOpenSsh()).startsWith("ssh-ed25519 ");
            SshBridge.Result r = SshBridge.run(bridge.ssh("dev@127.0.0.1", "echo first"), null, tmp);
            assertThat(r.exit()).as(r.stderr()).isZero();
            knownHosts = bridge.knownHosts;
        }
        Path keyFile = state.resolve("ssh_host_ed25519_key");
        assertThat(Files.getPosixFilePermissions(keyFile)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        String keyBytes = Files.readString(keyFile);
        String pinned = Files.readString(knownHosts);

        // a new server process on the same state dir: same key, so the client's pin still holds
        try (AgentSshServer restarted = AgentSshServer.create(state, SshServerOptions.defaults().withHome(home));
                SshBridge bridge = SshBridge.start(restarted, home, Files.createDirectories(tmp.resolve("scratch2")))) {
            assertThat(restarted.hostKeyFingerprint()).isEqualTo(first);
            Files.writeString(bridge.knownHosts, pinned); // the known_hosts written during the first run
            SshBridge.Result r = SshBridge.run(bridge.ssh("dev@127.0.0.1", "echo second"), null, tmp);
            assertThat(r.exit()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo("second\n");
        }
        assertThat(Files.readString(keyFile)).isEqualTo(keyBytes);
    }

    @Test
    void aDifferentStateDirMeansADifferentKeyAndStrictCheckingRejectsIt() throws Exception {
        Path home = Files.createDirectories(tmp.resolve("home"));
        String pinned;
        try (SshBridge a = SshBridge.start(tmp.resolve("state-a"), home, Files.createDirectories(tmp.resolve("sa")))) {
            pinned = Files.readString(a.knownHosts);
        }
        try (SshBridge b = SshBridge.start(tmp.resolve("state-b"), home, Files.createDirectories(tmp.resolve("sb")))) {
            Files.writeString(b.knownHosts, pinned);
            SshBridge.Result r = SshBridge.run(b.ssh("dev@127.0.0.1", "echo should-not-run"), null, tmp);
            assertThat(r.exit()).isEqualTo(255);
            assertThat(r.stdout()).doesNotContain("should-not-run");
            assertThat(r.stderr()).containsIgnoringCase("host key");
        }
    }
}
