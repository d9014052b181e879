package io.relaymesh.agent.ssh;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of the agent's built-in SSH server. Immutable; start from {@link #defaults()} and
 * change with the {@code with*} methods.
 *
 * @param shell          login shell; {@code null}: {@code $SHELL}, else {@code /etc/passwd}, else {@code /bin/sh}
 * @param home           home directory and working directory of sessions; {@code null}: {@code user.home}
 * @param extraEnv       variables added to every session's environment (the client's still win)
 * @param localForwarding whether {@code direct-tcpip} to loopback targets is allowed (ssh -L/-W, VS Code)
 * @param sftp           whether the {@code sftp} subsystem is offered
 * @param idleTimeout    close a connection with no traffic for this long; {@link Duration#ZERO}: never
 *                       (the tunnel keeps its own liveness checks)
 * @param setsidPath     util-linux {@code setsid}, used to give pty sessions their controlling terminal
 */
public record SshServerOptions(String shell, Path home, Map<String, String> extraEnv, boolean localForwarding,
        boolean sftp, Duration idleTimeout, String setsidPath) {

    public static final boolean DEFAULT_LOCAL_FORWARDING = true;
    public static final boolean DEFAULT_SFTP = true;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ZERO;
    public static final String DEFAULT_SETSID_PATH = "setsid";

    public SshServerOptions {
        extraEnv = Map.copyOf(extraEnv == null ? Map.of() : extraEnv);
        idleTimeout = idleTimeout == null ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
        setsidPath = setsidPath == null ? DEFAULT_SETSID_PATH : setsidPath;
        validate(shell, idleTimeout, extraEnv);
    }

    public static SshServerOptions defaults() {
        return new SshServerOptions(null, null, Map.of(), DEFAULT_LOCAL_FORWARDING, DEFAULT_SFTP,
                DEFAULT_IDLE_TIMEOUT, DEFAULT_SETSID_PATH);
    }

    public SshServerOptions withShell(String shell) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    public SshServerOptions withHome(Path home) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    public SshServerOptions withExtraEnv(Map<String, String> extraEnv) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    public SshServerOptions withLocalForwarding(boolean localForwarding) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    public SshServerOptions withSftp(boolean sftp) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    public SshServerOptions withIdleTimeout(Duration idleTimeout) {
        return new SshServerOptions(shell, home, extraEnv, localForwarding, sftp, idleTimeout, setsidPath);
    }

    private static void validate(String shell, Duration idleTimeout, Map<String, String> extraEnv) {
        if (shell != null && !shell.startsWith("/")) {
            throw new IllegalArgumentException("ssh.shell: must be an absolute path, got '" + shell + "'");
        }
        if (idleTimeout.isNegative()) {
            throw new IllegalArgumentException("ssh.idleTimeout: must not be negative, got " + idleTimeout);
        }
        extraEnv.keySet().forEach(k -> {
            if (k.isEmpty() || k.contains("=") || k.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("ssh.extraEnv: invalid variable name '" + k + "'");
            }
        });
        Objects.requireNonNull(extraEnv);
    }
}
