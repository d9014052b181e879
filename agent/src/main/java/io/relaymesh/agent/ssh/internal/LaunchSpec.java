package io.relaymesh.agent.ssh.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What to run for a session: the workspace user's login shell, or {@code $SHELL -c COMMAND} for
 * an exec request (as OpenSSH's sshd does).
 */
record LaunchSpec(WorkspaceUser user, Map<String, String> agentEnv, Map<String, String> extraEnv, String command) {

    List<String> argv() {
        List<String> argv = new ArrayList<>();
        argv.add(user.shell());
        if (command == null) {
            argv.add("-l");
        } else {
            argv.add("-c");
            argv.add(command);
        }
        return argv;
    }

    String describe() {
        return command == null ? "login shell " + user.shell() : "command '" + command + "'";
    }
}
