package io.relaymesh.agent.ssh.internal;

import java.util.Map;

import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.command.CommandFactory;
import org.apache.sshd.server.shell.ShellFactory;

/**
 * Shell and exec requests: with a terminal when the client asked for one ({@code ssh -t}, an
 * interactive {@code ssh}), else with plain pipes.
 */
public final class SessionCommands implements ShellFactory, CommandFactory {
    private final WorkspaceUser user;
    private final Map<String, String> agentEnv;
    private final Map<String, String> extraEnv;
    private final String setsid;

    public SessionCommands(WorkspaceUser user, Map<String, String> agentEnv, Map<String, String> extraEnv,
            String setsid) {
        this.user = user;
        this.agentEnv = Map.copyOf(agentEnv);
        this.extraEnv = Map.copyOf(extraEnv);
        this.setsid = setsid;
    }

    @Override
    public Command createShell(ChannelSession channel) {
        return create(channel, null);
    }

    @Override
    public Command createCommand(ChannelSession channel, String command) {
        return create(channel, command);
    }

    private Command create(ChannelSession channel, String command) {
        LaunchSpec spec = new LaunchSpec(user, agentEnv, extraEnv, command);
        boolean pty = channel instanceof AgentChannelSession s && s.ptyRequested();
        return pty ? new PtyProcessCommand(spec, setsid) : new PipedProcessCommand(spec);
    }
}
