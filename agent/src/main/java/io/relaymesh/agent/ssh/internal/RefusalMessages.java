package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.Service;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.session.AbstractServerSession;
import org.apache.sshd.server.session.ServerConnectionService;
import org.apache.sshd.server.session.ServerConnectionServiceFactory;

/**
 * Lets a channel that refuses to open tell the client why: MINA replaces the message of a
 * refused channel open with "Generic error while opening channel"; this connection service puts
 * back the reason the channel recorded with {@link #record}, so that OpenSSH prints e.g.
 * {@code open failed: administratively prohibited: ... only loopback targets ... are allowed}.
 */
final class RefusalMessages {
    private static final AttributeKey<Map<Long, String>> KEY = new AttributeKey<>();

    private RefusalMessages() {
    }

    /** Records why the open request from the client's channel {@code recipient} is refused. */
    static void record(Session session, long recipient, String message) {
        session.computeAttributeIfAbsent(KEY, k -> new ConcurrentHashMap<>()).put(recipient, message);
    }

    static final class ServiceFactory extends ServerConnectionServiceFactory {
        @Override
        public Service create(Session session) throws IOException {
            return new ServerConnectionService((AbstractServerSession) session) {
                @Override
                protected IoWriteFuture sendChannelOpenFailure(Buffer buffer, long sender, int reasonCode,
                        String message, String lang) throws IOException {
                    Map<Long, String> recorded = getSession().getAttribute(KEY);
                    String why = recorded == null ? null : recorded.remove(sender);
                    if (why != null && reasonCode == SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED) {
                        message = why;
                    }
                    return super.sendChannelOpenFailure(buffer, sender, reasonCode, message, lang);
                }
            };
        }
    }
}
