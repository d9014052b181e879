package io.relaymesh.agent.ssh.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;

import org.apache.sshd.server.StandardEnvironment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Environment and forwarding policies. */
class PolicyTest {
    private final WorkspaceUser user = new WorkspaceUser("alice", Path.of("/home/alice"), "/bin/zsh");

    @Test
    void agentSecretsNeverReachTheSessionAndIdentityCannotBeOverridden() {
        StandardEnvironment client = new StandardEnvironment();
        client.set("FOO", "bar");
        client.set("LANG", "de_DE.UTF-8");
        client.set("HOME", "/tmp/evil");
        client.set("USER", "root"); // MINA puts the SSH user name here
        client.set("RELAYMESH_AGENT_TOKEN", "from-client");
        client.set("COLUMNS", "80");
        Map<String, String> env = SessionEnvironment.build(user,
                Map.of("RELAYMESH_AGENT_TOKEN", "secret", "EDITOR", "vim", "TERM", "dumb"),
                Map.of("WORKSPACE", "dev"), client, null);
        assertThat(env).doesNotContainKey("RELAYMESH_AGENT_TOKEN")
                .doesNotContainKey("COLUMNS")
                .doesNotContainKey("TERM") // no terminal and the client sent none
                .containsEntry("FOO", "bar")
                .containsEntry("LANG", "de_DE.UTF-8")
                .containsEntry("EDITOR", "vim")
                .containsEntry("WORKSPACE", "dev")
                .containsEntry("HOME", "/home/alice")
                .containsEntry("USER", "alice")
                .containsEntry("LOGNAME", "alice")
                .containsEntry("SHELL", "/bin/zsh")
                .containsKey("PATH")
                .containsKey("SSH_CONNECTION")
                .doesNotContainKey("SSH_TTY");
    }

    @Test
    void ptySessionsGetTermFromTheClientAndSshTty() {
        StandardEnvironment client = new StandardEnvironment();
        client.set("TERM", "xterm-kitty");
        Map<String, String> env = SessionEnvironment.build(user, Map.of(), Map.of(), client, "/dev/pts/7");
        assertThat(env).containsEntry("TERM", "xterm-kitty").containsEntry("SSH_TTY", "/dev/pts/7");
    }

    @ParameterizedTest
    @CsvSource({
            "127.0.0.1, true", "127.1.2.3, true", "::1, true", "[::1], true", "localhost, true", "LOCALHOST, true",
            "0.0.0.0, false", "10.0.0.1, false", "192.168.1.1, false", "::, false", "example.com, false",
            "localhost.example.com, false", "127.0.0.1.nip.io, false", "'', false"})
    void onlyLoopbackTargetsMayBeForwarded(String host, boolean allowed) {
        assertThat(LoopbackForwarding.isLoopbackTarget(host)).as(host).isEqualTo(allowed);
    }
}
