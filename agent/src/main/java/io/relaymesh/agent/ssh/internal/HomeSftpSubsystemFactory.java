package io.relaymesh.agent.ssh.internal;

import java.nio.file.FileSystem;
import java.nio.file.Path;

import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.sftp.server.SftpSubsystem;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/**
 * SFTP over the whole file system, with the permissions of the agent's user (which is the
 * workspace's user), starting in the user's home directory as OpenSSH's sftp-server does (MINA
 * would start in the agent's working directory).
 */
final class HomeSftpSubsystemFactory extends SftpSubsystemFactory {
    private final Path home;

    HomeSftpSubsystemFactory(Path home) {
        this.home = home;
    }

    @Override
    public Command createSubsystem(ChannelSession channel) {
        SftpSubsystem subsystem = new SftpSubsystem(channel, this) {
            @Override
            public void setFileSystem(FileSystem fs) {
                super.setFileSystem(fs);
                defaultDir = fs.getPath(home.toString()).toAbsolutePath().normalize();
            }
        };
        getRegisteredListeners().forEach(subsystem::addSftpEventListener);
        return subsystem;
    }
}
