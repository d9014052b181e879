package io.relaymesh.agent.ssh.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.util.Locale;

import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.common.util.threads.ThreadUtils;
import org.apache.sshd.server.forward.ForwardingFilter;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.TcpipServerChannel;

/**
 * Port-forwarding policy of the agent SSH server: {@code direct-tcpip} (ssh -L / -W, VS Code
 * Remote-SSH) only to loopback targets of the workspace ({@code 127.0.0.0/8}, {@code ::1},
 * {@code localhost}); remote forwarding ({@code -R}), agent and X11 forwarding are off. The agent
 * must not become a way into the workspace's network neighbourhood.
 */
public final class LoopbackForwarding {
    private LoopbackForwarding() {
    }

    /** True for literal loopback addresses and the name {@code localhost}; no DNS lookups. */
    public static boolean isLoopbackTarget(String host) {
        if (host == null) {
            return false;
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equals("localhost") || h.equals("localhost.")) {
            return true;
        }
        if (!(h.matches("[0-9.]+") || (h.contains(":") && h.matches("[0-9a-f:.]+")))) {
            return false; // a name other than localhost: never resolved, never allowed
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress(); // literal: no lookup happens
        } catch (IOException e) {
            return false;
        }
    }

    static String refusal(String host, int port) {
        return "relaymesh agent: forwarding to " + host + ":" + port
                + " refused: only loopback targets of the workspace (127.0.0.1, ::1, localhost) are allowed";
    }

    /** The filter MINA consults; denies everything but direct-tcpip to loopback. */
    static ForwardingFilter filter() {
        return new ForwardingFilter() {
            @Override
            public boolean canForwardAgent(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canForwardX11(Session session, String requestType) {
                return false;
            }

            @Override
            public boolean canListen(SshdSocketAddress address, Session session) {
                return false;
            }

            @Override
            public boolean canConnect(TcpForwardingFilter.Type type, SshdSocketAddress address, Session session) {
                return type == TcpForwardingFilter.Type.Direct && isLoopbackTarget(address.getHostName());
            }
        };
    }

    /** {@code direct-tcpip} channels that refuse a non-loopback target with a message saying why. */
    static final class DirectTcpipFactory extends TcpipServerChannel.TcpipFactory {
        DirectTcpipFactory() {
            super(TcpForwardingFilter.Type.Direct);
        }

        @Override
        public Channel createChannel(Session session) throws IOException {
            return new TcpipServerChannel(getType(), ThreadUtils.noClose(getExecutorService())) {
                @Override
                protected OpenFuture doInit(Buffer buffer) {
                    int start = buffer.rpos();
                    String host = buffer.getString();
                    int port = buffer.getInt();
                    buffer.rpos(start);
                    if (!isLoopbackTarget(host)) {
                        RefusalMessages.record(getSession(), getRecipient(), refusal(host, port));
                        OpenFuture refused = new DefaultOpenFuture(this, this);
                        refused.setException(new SshChannelOpenException(getChannelId(),
                                SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, refusal(host, port)));
                        close(true);
                        return refused;
                    }
                    return super.doInit(buffer);
                }
            };
        }
    }
}
