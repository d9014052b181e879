package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The account SSH sessions run as: the agent process's own user (the agent runs inside the
 * workspace). The login shell comes from {@code $SHELL}, else {@code /etc/passwd}, else
 * {@code /bin/sh}; the home directory is the working directory of every session.
 */
public record WorkspaceUser(String name, Path home, String shell) {

    public static WorkspaceUser current(String shellOverride, Path homeOverride) {
        String name = System.getProperty("user.name");
        Path home = homeOverride != null ? homeOverride : Path.of(System.getProperty("user.home"));
        String shell = shellOverride;
        if (shell == null || shell.isBlank()) {
            shell = System.getenv("SHELL");
        }
        if (shell == null || shell.isBlank() || !Files.isExecutable(Path.of(shell))) {
            shell = passwdShell(name);
        }
        if (shell == null || !Files.isExecutable(Path.of(shell))) {
            shell = "/bin/sh";
        }
        return new WorkspaceUser(name, home, shell);
    }

    private static String passwdShell(String user) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/etc/passwd"));
            for (String line : lines) {
                String[] f = line.split(":", -1);
                if (f.length >= 7 && f[0].equals(user) && !f[6].isBlank()) {
                    return f[6];
                }
            }
        } catch (IOException | RuntimeException e) {
            // no passwd entry to be had: fall back to /bin/sh
        }
        return null;
    }
}
