package io.relaymesh.agent.ssh.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.apache.sshd.server.Environment;

/**
 * Builds the environment of a session's process.
 *
 * <p>Policy: start from the agent's own environment (so the workspace's variables are there, as
 * for a terminal opened in the workspace) minus the agent's secrets ({@code RELAYMESH_*}); set
 * {@code HOME}, {@code USER}, {@code LOGNAME}, {@code SHELL} for the workspace user; then apply
 * every variable the client sent ({@code SendEnv}/{@code SetEnv}, {@code TERM} from the pty
 * request) except those identity variables and {@code RELAYMESH_*}. The client is already the
 * workspace's owner (the relay authorized the stream), so this grants nothing they could not do
 * in their shell anyway; the exceptions only keep the session's identity consistent.
 */
final class SessionEnvironment {
    private static final Set<String> PROTECTED = Set.of("HOME", "USER", "LOGNAME", "SHELL");
    /** Set by MINA from the pty request / SSH user name; not meant for the process. */
    private static final Set<String> MINA_INTERNAL = Set.of("COLUMNS", "LINES");
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private SessionEnvironment() {
    }

    static Map<String, String> build(WorkspaceUser user, Map<String, String> agentEnv, Map<String, String> extra,
            Environment sshEnv, String ttyPath) {
        Map<String, String> env = new HashMap<>();
        agentEnv.forEach((k, v) -> {
            if (!isSecret(k)) {
                env.put(k, v);
            }
        });
        env.putAll(extra);
        env.put("HOME", user.home().toString());
        env.put("USER", user.name());
        env.put("LOGNAME", user.name());
        env.put("SHELL", user.shell());
        env.putIfAbsent("PATH", DEFAULT_PATH);
        if (sshEnv != null) {
            sshEnv.getEnv().forEach((k, v) -> {
                if (k == null || v == null || PROTECTED.contains(k) || MINA_INTERNAL.contains(k) || isSecret(k)) {
                    return;
                }
                env.put(k, v);
            });
        }
        // Tools look for these to tell an SSH session (prompts, tmux, `code`); the peer behind the
        // tunnel has no address here, so they carry loopback placeholders, as for a local ssh.
        env.put("SSH_CLIENT", "127.0.0.1 0 22");
        env.put("SSH_CONNECTION", "127.0.0.1 0 127.0.0.1 22");
        if (ttyPath != null) {
            env.put("SSH_TTY", ttyPath);
            env.putIfAbsent("TERM", "xterm-256color");
        } else if (sshEnv == null || !sshEnv.getEnv().containsKey("TERM")) {
            env.remove("TERM"); // no terminal: do not inherit the agent's TERM
        }
        return env;
    }

    private static boolean isSecret(String name) {
        return name.startsWith("RELAYMESH_");
    }
}
