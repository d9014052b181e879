package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.util.Map;

import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.server.channel.ChannelSession;

/** A session channel that remembers whether the client asked for a terminal ({@code pty-req}). */
final class AgentChannelSession extends ChannelSession {
    private volatile boolean ptyRequested;

    boolean ptyRequested() {
        return ptyRequested;
    }

    @Override
    protected RequestHandler.Result handlePtyReqParsed(String term, int cols, int rows, int width, int height,
            Map<PtyMode, Integer> modes) throws IOException {
        RequestHandler.Result r = super.handlePtyReqParsed(term, cols, rows, width, height, modes);
        ptyRequested = true;
        return r;
    }

    static final class Factory implements ChannelFactory {
        @Override
        public String getName() {
            return "session";
        }

        @Override
        public Channel createChannel(Session session) {
            return new AgentChannelSession();
        }
    }
}
