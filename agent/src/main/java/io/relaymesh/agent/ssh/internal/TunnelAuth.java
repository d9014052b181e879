package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.sshd.common.Service;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.auth.AbstractUserAuth;
import org.apache.sshd.server.auth.AbstractUserAuthFactory;
import org.apache.sshd.server.auth.UserAuth;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.session.ServerUserAuthService;
import org.apache.sshd.server.session.ServerUserAuthServiceFactory;

/**
 * Accepts the SSH {@code none} authentication method: the tunnel stream this connection arrived
 * on was authorized by the relay (signed connection ticket for this workspace) before the agent
 * ever saw it, so asking the user again would add a prompt and no security.
 *
 * <p>MINA always answers {@code none} with the list of real methods, so the user-auth service is
 * replaced by one that hands a {@code none} request to the {@value #METHOD} method, which
 * succeeds at once.
 */
final class TunnelAuth {
    /** The internal method standing for "authorized by the tunnel". */
    static final String METHOD = "relaymesh-tunnel";

    private TunnelAuth() {
    }

    static final class Factory extends AbstractUserAuthFactory {
        Factory() {
            super(METHOD);
        }

        @Override
        public UserAuth createUserAuth(ServerSession session) {
            return new AbstractUserAuth(METHOD) {
                @Override
                protected Boolean doAuth(Buffer buffer, boolean init) {
                    return Boolean.TRUE;
                }
            };
        }
    }

    static final class ServiceFactory extends ServerUserAuthServiceFactory {
        @Override
        public Service create(Session session) throws IOException {
            return new ServerUserAuthService(session) {
                @Override
                protected boolean handleUserAuthRequestMessage(ServerSession s, Buffer buffer,
                        AtomicReference<Boolean> authHolder) throws Exception {
                    int start = buffer.rpos();
                    String user = buffer.getString();
                    String service = buffer.getString();
                    String method = buffer.getString();
                    if (!"none".equals(method)) {
                        buffer.rpos(start);
                        return super.handleUserAuthRequestMessage(s, buffer, authHolder);
                    }
                    ByteArrayBuffer rewritten = new ByteArrayBuffer();
                    rewritten.putString(user);
                    rewritten.putString(service);
                    rewritten.putString(METHOD);
                    rewritten.putRawBytes(buffer.array(), buffer.rpos(), buffer.available());
                    return super.handleUserAuthRequestMessage(s, rewritten, authHolder);
                }
            };
        }
    }
}
