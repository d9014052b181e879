package io.relaymesh.agent.ssh.internal;

import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;

import io.relaymesh.agent.ssh.SshServerOptions;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.file.nativefs.NativeFileSystemFactory;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.auth.UserAuthFactory;
import org.apache.sshd.server.auth.keyboard.InteractiveChallenge;
import org.apache.sshd.server.auth.keyboard.KeyboardInteractiveAuthenticator;
import org.apache.sshd.server.auth.keyboard.UserAuthKeyboardInteractiveFactory;
import org.apache.sshd.server.auth.pubkey.AcceptAllPublickeyAuthenticator;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.session.ServerSession;

/** Configures MINA's server for the agent: auth, channels, commands, SFTP, forwarding. */
public final class ServerSetup {
    private ServerSetup() {
    }

    /** Whether {@code command} (an absolute path, or a name looked up on PATH) is executable. */
    public static boolean commandAvailable(String command) {
        if (command.contains("/")) {
            return java.nio.file.Files.isExecutable(Path.of(command));
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    public static TunnelSshServer configure(KeyPair hostKey, WorkspaceUser user, SshServerOptions options) {
        TunnelSshServer sshd = (TunnelSshServer) ServerBuilder.builder().factory(TunnelSshServer::new).build();
        sshd.setKeyPairProvider(KeyPairProvider.wrap(hostKey));

        // The relay authorized the stream before it reached us: accept without prompting.
        sshd.setServiceFactories(List.of(new TunnelAuth.ServiceFactory(), new RefusalMessages.ServiceFactory()));
        List<UserAuthFactory> auth = List.of(new TunnelAuth.Factory(), UserAuthPublicKeyFactory.INSTANCE,
                UserAuthKeyboardInteractiveFactory.INSTANCE);
        sshd.setUserAuthFactories(auth);
        sshd.setPublickeyAuthenticator(AcceptAllPublickeyAuthenticator.INSTANCE);
        sshd.setKeyboardInteractiveAuthenticator(new KeyboardInteractiveAuthenticator() {
            @Override
            public InteractiveChallenge generateChallenge(ServerSession session, String username, String lang,
                    String subMethods) {
                InteractiveChallenge c = new InteractiveChallenge();
                c.setInteractionName("");
                c.setInteractionInstruction("");
                return c; // no prompts
            }

            @Override
            public boolean authenticate(ServerSession session, String username, List<String> responses) {
                return true;
            }
        });
        sshd.setPasswordAuthenticator(null);

        List<ChannelFactory> channels = new ArrayList<>();
        channels.add(new AgentChannelSession.Factory());
        if (options.localForwarding()) {
            channels.add(new LoopbackForwarding.DirectTcpipFactory());
            sshd.setForwardingFilter(LoopbackForwarding.filter());
        } else {
            sshd.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
        }
        sshd.setChannelFactories(channels);

        SessionCommands commands = new SessionCommands(user, System.getenv(), options.extraEnv(), options.setsidPath());
        sshd.setShellFactory(commands);
        sshd.setCommandFactory(commands);
        if (options.sftp()) {
            sshd.setSubsystemFactories(List.of(new HomeSftpSubsystemFactory(user.home())));
        }
        Path home = user.home();
        sshd.setFileSystemFactory(new NativeFileSystemFactory() {
            @Override
            public Path getUserHomeDir(SessionContext session) {
                return home; // SFTP's start directory; the whole file system is reachable as the user
            }
        });

        CoreModuleProperties.IDLE_TIMEOUT.set(sshd, options.idleTimeout());
        CoreModuleProperties.SERVER_IDENTIFICATION.set(sshd, "RelaymeshAgent");
        return sshd;
    }
}
